/**
 * Receipts on a real SQLite file: changing one stored receipt, or cutting the chain short,
 * is found by verifyReceipts, which names the first broken link.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Conveyor } from '../../src/index.js';
import { openTestConveyor } from '../helpers/conveyors.js';

let cv: Conveyor;
afterEach(() => cv.close());

async function runOne(): Promise<{ id: string; file: string }> {
  cv = await openTestConveyor();
  await cv.registerExecutor('e');
  const item = await cv.enqueueWorkItem({ type: 't', payload: { amount: 100 } });
  await cv.startExecution(item.id, 'e');
  for (const p of [25, 50, 75]) await cv.reportProgress(item.id, 'e', p);
  await cv.completeWorkItem(item.id, 'e', { output: { paid: 100 } });
  const file = (cv as unknown as { engine: { store: { db: { name: string } } } }).engine.store.db.name;
  return { id: item.id, file };
}

function tamper(file: string, sql: string, ...params: unknown[]): void {
  const db = new Database(file); // a second connection, as an attacker or a bad migration would
  db.prepare(sql).run(...params);
  db.close();
}

describe('receipt tampering', () => {
  it('a changed field in receipt 4 is reported as seq 4', async () => {
    const { id, file } = await runOne();
    expect(await cv.verifyReceipts(id)).toMatchObject({ valid: true, count: 6 });
    tamper(file, 'UPDATE receipts SET progress = 99 WHERE item_id = ? AND seq = 4', id);
    expect(await cv.verifyReceipts(id)).toMatchObject({ valid: false, firstBrokenSeq: 4, count: 6 });
  });

  it('a changed output in the last receipt is reported', async () => {
    const { id, file } = await runOne();
    tamper(file, `UPDATE receipts SET output = '{"paid":1000}' WHERE item_id = ? AND seq = 6`, id);
    expect(await cv.verifyReceipts(id)).toMatchObject({ valid: false, firstBrokenSeq: 6 });
  });

  it('a replaced hash breaks the next link', async () => {
    const { id, file } = await runOne();
    tamper(file, `UPDATE receipts SET receipt_hash = ? WHERE item_id = ? AND seq = 2`, 'f'.repeat(64), id);
    expect(await cv.verifyReceipts(id)).toMatchObject({ valid: false, firstBrokenSeq: 2 });
  });

  it('a deleted last receipt is found against the item’s chain head', async () => {
    const { id, file } = await runOne();
    tamper(file, 'DELETE FROM receipts WHERE item_id = ? AND seq = 6', id);
    const v = await cv.verifyReceipts(id);
    expect(v).toMatchObject({ valid: false, firstBrokenSeq: 6, count: 5 });
    expect(v.reason).toMatch(/chain head/);
  });
});
