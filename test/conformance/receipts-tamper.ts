/**
 * Receipts on a real SQLite file: changing one stored receipt, or cutting the chain short,
 * is found by verifyReceipts, which names the first broken link.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Conveyor } from '../../src/index.js';
import type { TestBackend } from '../helpers/backends.js';

export function receiptsTamperSuite(b: TestBackend): void {
  let cv: Conveyor;
  afterEach(() => cv.close());

  async function runOne(): Promise<{ id: string }> {
    cv = await b.open();
    await cv.registerExecutor('e');
    const item = await cv.enqueueWorkItem({ type: 't', payload: { amount: 100 } });
    await cv.startExecution(item.id, 'e');
    for (const p of [25, 50, 75]) await cv.reportProgress(item.id, 'e', p);
    await cv.completeWorkItem(item.id, 'e', { output: { paid: 100 } });
    return { id: item.id };
  }

  const tamper = (sql: string, ...params: unknown[]) => b.exec(cv, sql, ...params);

  describe('receipt tampering', () => {
    it('a changed field in receipt 4 is reported as seq 4', async () => {
      const { id } = await runOne();
      expect(await cv.verifyReceipts(id)).toMatchObject({ valid: true, count: 6 });
      await tamper('UPDATE events SET receipt_progress = 99 WHERE item_id = ? AND receipt_seq = 4', id);
      expect(await cv.verifyReceipts(id)).toMatchObject({ valid: false, firstBrokenSeq: 4, count: 6 });
    });

    it('a changed output in the last receipt is reported', async () => {
      const { id } = await runOne();
      await tamper(
        `UPDATE events SET receipt_output = '{"paid":1000}' WHERE item_id = ? AND receipt_seq = 6`,
        id,
      );
      expect(await cv.verifyReceipts(id)).toMatchObject({ valid: false, firstBrokenSeq: 6 });
    });

    it('a replaced hash breaks the next link', async () => {
      const { id } = await runOne();
      await tamper(
        `UPDATE events SET receipt_hash = ? WHERE item_id = ? AND receipt_seq = 2`,
        'f'.repeat(64),
        id,
      );
      expect(await cv.verifyReceipts(id)).toMatchObject({ valid: false, firstBrokenSeq: 2 });
    });

    it('a deleted last receipt is found against the item’s chain head', async () => {
      const { id } = await runOne();
      await tamper('DELETE FROM events WHERE item_id = ? AND receipt_seq = 6', id);
      const v = await cv.verifyReceipts(id);
      expect(v).toMatchObject({ valid: false, firstBrokenSeq: 6, count: 5 });
      expect(v.reason).toMatch(/chain head/);
    });
  });
}
