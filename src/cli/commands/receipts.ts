/**
 * @module cli/commands/receipts
 * `conveyor receipts <id> [--verify]`: a task's receipt chain (CONTRACT §3). `--verify`
 * recomputes every hash and link here, with the same code the store uses, instead of
 * taking the server's word: a client that checks for itself can tell a tampered database
 * even from a server that would say all is well. The server's own verdict is still
 * counted, because it also checks what a client cannot see (the item's chain head, which
 * catches receipts deleted from the end).
 */
import type { Command } from 'commander';
import type { receiptView } from '../../client/views.js';
import { verifyReceiptChain } from '../../core/receipts.js';
import type { Receipt, ReceiptVerification } from '../../core/types.js';
import { segment } from '../api-client.js';
import { FailedError } from '../errors.js';
import { clientOf, example, withClientFlags, type ClientFlags } from '../options.js';
import { out, printJson, table } from '../output.js';

type ReceiptView = ReturnType<typeof receiptView>;

interface ReceiptsAnswer {
  task_id: string;
  valid: boolean;
  count: number;
  first_broken_seq: number | null;
  reason: string | null;
  receipts: ReceiptView[];
}

/** The API's snake_case receipt back into the shape its hash was computed over. */
const toReceipt = (r: ReceiptView): Receipt => ({
  id: r.id,
  itemId: r.task_id,
  seq: r.seq,
  status: r.status,
  timestamp_iso: r.timestamp_iso,
  executorId: r.executor_id,
  progress: r.progress,
  output: r.output,
  error: r.error,
  retryCount: r.retry_count,
  previousReceiptHash: r.previous_receipt_hash,
  receiptHash: r.receipt_hash,
});

function printChain(answer: ReceiptsAnswer): void {
  const rows = answer.receipts.map((r) => [
    String(r.seq),
    r.status,
    r.timestamp_iso,
    r.executor_id ?? '-',
    `${r.progress}%`,
    r.receipt_hash.slice(0, 16),
  ]);
  for (const line of table(['SEQ', 'STATUS', 'TIME', 'EXECUTOR', 'PROGRESS', 'HASH'], rows)) out(line);
}

const verdict = (v: { valid: boolean; first_broken_seq: number | null; reason: string | null }) =>
  v.valid ? 'OK' : `BROKEN at receipt seq ${v.first_broken_seq}: ${v.reason}`;

async function receipts(id: string, o: ClientFlags & { verify?: boolean }): Promise<void> {
  const answer = await clientOf(o).get<ReceiptsAnswer>(`/api/tasks/${segment(id)}/receipts`);
  const server = {
    valid: answer.valid,
    first_broken_seq: answer.first_broken_seq,
    reason: answer.reason,
  };
  if (!o.verify) {
    if (o.json) printJson(answer);
    else {
      printChain(answer);
      out(`server says: ${verdict(server)}`);
    }
    return;
  }
  const mine: ReceiptVerification = verifyReceiptChain(id, answer.receipts.map(toReceipt));
  const local = { valid: mine.valid, first_broken_seq: mine.firstBrokenSeq, reason: mine.reason };
  const valid = local.valid && server.valid;
  if (o.json)
    printJson({ task_id: id, valid, count: answer.count, local, server, receipts: answer.receipts });
  else {
    printChain(answer);
    out(`verified here: ${verdict(local)} (${mine.count} receipts)`);
    out(`server says:   ${verdict(server)}`);
  }
  if (!valid) {
    const first = local.valid ? server : local;
    throw new FailedError(
      `receipt chain of ${id} is broken at seq ${first.first_broken_seq}: ${first.reason}`,
    );
  }
}

export function registerReceiptsCommand(program: Command): void {
  const command = withClientFlags(
    program.command('receipts <id>').description("print a task's receipt chain; --verify checks it here"),
  )
    .option('--verify', 'recompute every hash and link locally; exit 1 when the chain is broken')
    .action(receipts);
  example(command, 'conveyor receipts 0198c0de-… --verify');
}
