/**
 * @module legacy-receipts
 * The log of a database from before receipts moved into the events table (SQLite migration
 * 0006, PostgreSQL 0005): real receipt chains, as rows of the old `receipts` table, and the
 * events the engine wrote beside them (an enqueue's event holds the item, a transition's its
 * patch, both naming the receipt's seq), plus events without a receipt. The migration tests
 * of both backends write these rows and check every chain reads back unchanged.
 */
import { sealReceipt } from '../../src/core/receipts.js';
import type { Receipt } from '../../src/core/types.js';

export interface LegacyLog {
  chains: Map<string, Receipt[]>;
  /** Rows of the old `receipts` table, in its column order (RECEIPTS_INSERT). */
  receipts: unknown[][];
  /** Events as (type, item_id, workflow_id, data), in log order. */
  events: [string, string | null, string | null, string][];
}

export const LEGACY_RECEIPT_COLUMNS =
  'item_id, seq, id, status, timestamp_iso, executor_id, progress, output, error, retry_count, previous_hash, receipt_hash';

export function legacyLog(): LegacyLog {
  const chains = new Map<string, Receipt[]>();
  const receipts: unknown[][] = [];
  const events: LegacyLog['events'] = [];
  const steps: [string, Receipt['status'], Partial<Receipt>][] = [
    ['a', 'enqueued', {}],
    ['b', 'enqueued', {}],
    ['a', 'started', { executorId: 'w1' }],
    ['b', 'started', { executorId: 'w2' }],
    ['a', 'progress', { executorId: 'w1', progress: 50 }],
    ['b', 'failed', { executorId: 'w2', error: { code: 'X', message: 'no' } }],
    ['a', 'completed', { executorId: 'w1', progress: 100, output: { n: [1, 'é'] } }],
  ];
  for (const [item, status, fields] of steps) {
    const chain = chains.get(item) ?? [];
    const r = sealReceipt({
      id: `r-${item}-${chain.length + 1}`,
      itemId: item,
      seq: chain.length + 1,
      status,
      timestamp_iso: new Date(1_000 + chain.length).toISOString(),
      executorId: null,
      progress: 0,
      output: null,
      error: null,
      retryCount: 0,
      previousReceiptHash: chain.at(-1)?.receiptHash ?? null,
      ...fields,
    });
    chains.set(item, [...chain, r]);
    receipts.push([
      r.itemId,
      r.seq,
      r.id,
      r.status,
      r.timestamp_iso,
      r.executorId,
      r.progress,
      r.output === null ? null : JSON.stringify(r.output),
      r.error === null ? null : JSON.stringify(r.error),
      r.retryCount,
      r.previousReceiptHash,
      r.receiptHash,
    ]);
    const data =
      status === 'enqueued'
        ? { to: 'queued', item: { id: item, receiptSeq: r.seq, receiptHash: r.receiptHash } }
        : { from: 'running', to: status, patch: { status, receiptSeq: r.seq, receiptHash: r.receiptHash } };
    events.push([`item.${status}`, item, 'w', JSON.stringify(data)]);
    // A change that is not a transition (budget use) has no receipt.
    if (status === 'started')
      events.push(['item.usage', item, null, JSON.stringify({ to: 'running', patch: { usage: { x: 1 } } })]);
  }
  events.push(['workflow.updated', null, 'w', JSON.stringify({ to: 'running' })]);
  return { chains, receipts, events };
}

/** Events per type after the migration: how many carry a receipt, of how many. */
export const LEGACY_EVENTS_BY_TYPE = [
  { type: 'item.completed', with_receipt: 1, n: 1 },
  { type: 'item.enqueued', with_receipt: 2, n: 2 },
  { type: 'item.failed', with_receipt: 1, n: 1 },
  { type: 'item.progress', with_receipt: 1, n: 1 },
  { type: 'item.started', with_receipt: 2, n: 2 },
  { type: 'item.usage', with_receipt: 0, n: 2 },
  { type: 'workflow.updated', with_receipt: 0, n: 1 },
];
