/**
 * @module sqlite-receipts
 * The receipt chains. Rows are written once and never updated by Conveyor; `verifyReceipts`
 * recomputes them, so any later change to a row shows as a broken link.
 */
import type Database from 'better-sqlite3';
import type { ItemError } from '../../core/errors.js';
import type { ReceiptStatus } from '../../core/item-state.js';
import type { JsonValue, Receipt } from '../../core/types.js';
import type { ReceiptReads, StoreWrites } from '../store.js';

interface ReceiptRow {
  item_id: string;
  seq: number;
  id: string;
  status: string;
  timestamp_iso: string;
  executor_id: string | null;
  progress: number;
  output: string | null;
  error: string | null;
  retry_count: number;
  previous_hash: string | null;
  receipt_hash: string;
}

function toReceipt(r: ReceiptRow): Receipt {
  return {
    id: r.id,
    itemId: r.item_id,
    seq: r.seq,
    status: r.status as ReceiptStatus,
    timestamp_iso: r.timestamp_iso,
    executorId: r.executor_id,
    progress: r.progress,
    output: r.output === null ? null : (JSON.parse(r.output) as JsonValue),
    error: r.error === null ? null : (JSON.parse(r.error) as ItemError),
    retryCount: r.retry_count,
    previousReceiptHash: r.previous_hash,
    receiptHash: r.receipt_hash,
  };
}

export function createSqliteReceipts(
  db: Database.Database,
): ReceiptReads & Pick<StoreWrites, 'insertReceipt'> {
  const insert = db.prepare(
    `INSERT INTO receipts (item_id, seq, id, status, timestamp_iso, executor_id, progress, output, error,
       retry_count, previous_hash, receipt_hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const forItem = db.prepare<[string], ReceiptRow>('SELECT * FROM receipts WHERE item_id = ? ORDER BY seq');
  return {
    receipts: (itemId) => forItem.all(itemId).map(toReceipt),
    insertReceipt(r) {
      insert.run(
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
      );
    },
  };
}
