/**
 * @module sqlite-receipts
 * The receipt chains. Rows are written once and never updated by Conveyor; `verifyReceipts`
 * recomputes them, so any later change to a row shows as a broken link.
 */
import type Database from 'better-sqlite3';
import type { ReceiptReads, StoreWrites } from '../store.js';
import { RECEIPT_COLUMNS, receiptParams, toReceipt, type ReceiptRow } from '../rows/log-rows.js';

export function createSqliteReceipts(
  db: Database.Database,
): ReceiptReads & Pick<StoreWrites, 'insertReceipt'> {
  const insert = db.prepare(
    `INSERT INTO receipts (${RECEIPT_COLUMNS.join(', ')}) VALUES (${RECEIPT_COLUMNS.map(() => '?').join(', ')})`,
  );
  const forItem = db.prepare<[string], ReceiptRow>('SELECT * FROM receipts WHERE item_id = ? ORDER BY seq');
  return {
    receipts: (itemId) => forItem.all(itemId).map(toReceipt),
    insertReceipt(r) {
      insert.run(receiptParams(r));
    },
  };
}
