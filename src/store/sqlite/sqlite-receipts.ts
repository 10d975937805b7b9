/**
 * @module sqlite-receipts
 * The receipt chains, read from the event log: each transition's receipt is in the row of
 * its event (see rows/log-rows.ts). Rows are written once and never updated by Conveyor;
 * `verifyReceipts` recomputes them, so any later change to a row shows as a broken link.
 */
import type Database from 'better-sqlite3';
import type { ReceiptReads } from '../store.js';
import { RECEIPT_SELECT, toReceipt, type ReceiptRow } from '../rows/log-rows.js';

export function createSqliteReceipts(db: Database.Database): ReceiptReads {
  // events_item holds (item_id, seq): the item's events in log order, receipts among them.
  const forItem = db.prepare<[string], ReceiptRow>(
    `SELECT ${RECEIPT_SELECT} FROM events WHERE item_id = ? AND receipt_seq IS NOT NULL ORDER BY seq`,
  );
  return {
    receipts: (itemId) => forItem.all(itemId).map(toReceipt),
  };
}
