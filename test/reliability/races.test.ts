/**
 * Reliability scenarios 6, 7, 8 and 10 (issue 7), on SQLite and PostgreSQL:
 * 6. an enqueue retried with its idempotency key after the reply was lost → one item;
 * 7. cancel racing completion, 1,000 times → exactly one terminal state each, one
 *    terminal receipt, the loser refused with a typed error;
 * 8. 1,000 items failing at once → their retries spread by jitter (no second holds more
 *    than 5% of them), attempts capped, final state `failed` with the error kept;
 * 10. receipts written by 8 concurrent writers → one unforked chain per item; a flipped
 *    byte in a stored receipt is found by verify at its seq.
 * On PostgreSQL the racers are separate Conveyors (separate pools, as separate
 * processes would be); on SQLite one Conveyor (two connections of one process must not
 * write at once, see test/helpers/backends.ts) whose engine serialises them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConveyorError, type Conveyor } from '../../src/index.js';
import { postgresBackend, requirePostgres, sqliteBackend, type TestBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/conveyors.js';

const pgAvailable = await requirePostgres('reliability/races.test.ts');
const backends = [sqliteBackend, ...(pgAvailable ? [postgresBackend] : [])];

const opened: Conveyor[] = [];
afterEach(async () => {
  for (const cv of opened.splice(0).reverse()) await cv.close();
});

async function open(b: TestBackend): Promise<{ cv: Conveyor; other: Conveyor }> {
  const cv = await b.open();
  opened.push(cv);
  if (b.name === 'sqlite') return { cv, other: cv };
  const other = await b.openSibling(cv);
  opened.push(other);
  return { cv, other };
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'skipped']);

describe.each(backends)('races and retries on $name', (b) => {
  it('6: an enqueue retried with the same idempotency key after a lost reply makes one item', async () => {
    const { cv, other } = await open(b);
    // The first call committed but its reply never arrived; the client sends it again,
    // from another process, and again at once from both.
    const first = await cv.enqueueWorkItem({ type: 't', idempotencyKey: 'order-42', payload: { n: 1 } });
    const again = await Promise.all([
      other.enqueueWorkItem({ type: 't', idempotencyKey: 'order-42', payload: { n: 1 } }),
      cv.enqueueWorkItem({ type: 't', idempotencyKey: 'order-42', payload: { n: 1 } }),
    ]);
    expect(again.map((i) => i.id)).toEqual([first.id, first.id]);
    const racing = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? cv : other).enqueueWorkItem({ type: 't', idempotencyKey: 'fresh-key' }),
      ),
    );
    expect(new Set(racing.map((i) => i.id)).size).toBe(1);
    expect((await cv.listWorkItems({ type: 't' })).items).toHaveLength(2);
  });

  it('7: cancel racing completion 1,000 times ends in exactly one terminal state each', async () => {
    const { cv, other } = await open(b);
    await cv.registerExecutor('e', { concurrency: 1000 });
    const outcomes = { completed: 0, cancelled: 0 };
    const refusals = new Set<string>();
    for (let batch = 0; batch < 20; batch++) {
      const items = await cv.enqueueWorkItems(Array.from({ length: 50 }, () => ({ type: 'race' })));
      await Promise.all(items.map((i) => cv.startExecution(i.id, 'e')));
      await Promise.all(
        items.map(async (item, k) => {
          const complete = () => cv.completeWorkItem(item.id, 'e', { output: { k } });
          const cancel = () => other.cancelWorkItem(item.id);
          // Alternate who is sent first, so both orders race.
          const settled = await Promise.allSettled(k % 2 ? [complete(), cancel()] : [cancel(), complete()]);
          const won = settled.filter((s) => s.status === 'fulfilled');
          expect(won, item.id).toHaveLength(1);
          for (const s of settled)
            if (s.status === 'rejected') {
              expect(s.reason).toBeInstanceOf(ConveyorError);
              refusals.add((s.reason as ConveyorError).code);
            }
          const final = await cv.getWorkItem(item.id);
          expect(['completed', 'cancelled']).toContain(final.status);
          outcomes[final.status as 'completed' | 'cancelled']++;
          const receipts = await cv.getWorkItemReceipts(item.id);
          expect(receipts.filter((r) => TERMINAL.has(r.status))).toHaveLength(1);
          expect(receipts.at(-1)!.status).toBe(final.status);
        }),
      );
    }
    console.log(
      `${b.name}: cancel vs complete ×1000 → ${JSON.stringify(outcomes)}, losers: ${[...refusals].join(', ')}`,
    );
    expect(outcomes.completed + outcomes.cancelled).toBe(1000);
    expect([...refusals].every((c) => c === 'INVALID_TRANSITION')).toBe(true);
    expect((await cv.checkEventLog()).mismatches).toEqual([]);
  });

  it('8: 1,000 items failing at once retry spread by jitter, capped, final failed with the error', async () => {
    const { cv } = await open(b);
    const spread = await cv.enqueueWorkItems(
      Array.from({ length: 1000 }, () => ({
        type: 'flaky',
        constraints: { maxRetries: 3, backoff: { type: 'exponential' as const, baseMs: 40_000, jitter: 1 } },
      })),
    );
    const worker = cv.worker({
      handlers: {
        flaky: () => {
          throw new Error('upstream down');
        },
      },
      concurrency: 50,
    });
    await worker.start();
    try {
      const first = new Set(spread.map((i) => i.id));
      await waitFor(
        async () =>
          (await cv.getCounts({ type: 'flaky' })).queued === 1000 &&
          (await cv.listWorkItems({ type: 'flaky', limit: 1000 })).items.every((i) => i.attempts >= 1),
        'every item failed at least once',
        60_000,
      );
      const items = (await cv.listWorkItems({ type: 'flaky', limit: 1000 })).items;
      expect(items.every((i) => first.has(i.id) && i.error?.message === 'upstream down')).toBe(true);
      // (Full jitter lets a few retry at once and fail again: their next run is later still.)
      const perSecond = new Map<number, number>();
      for (const i of items) {
        const s = Math.floor(Date.parse(i.runAt) / 1000);
        perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
      }
      const busiest = Math.max(...perSecond.values());
      console.log(`${b.name}: 1000 retries over ${perSecond.size} seconds, busiest second ${busiest}`);
      expect(busiest).toBeLessThanOrEqual(50);

      // Attempts capped and the error kept: a fast-retrying set runs to the end.
      const capped = await cv.enqueueWorkItems(
        Array.from({ length: 200 }, () => ({
          type: 'flaky',
          constraints: { maxRetries: 2, backoff: { type: 'fixed' as const, baseMs: 5, jitter: 1 } },
        })),
      );
      await waitFor(
        async () =>
          (await Promise.all(capped.map((i) => cv.getWorkItem(i.id)))).every((i) => i.status === 'failed'),
        'the capped set to fail for good',
        60_000,
      );
      for (const i of capped) {
        const done = await cv.getWorkItem(i.id);
        expect(done.attempts).toBe(3);
        expect(done.error?.message).toBe('upstream down');
      }
    } finally {
      await worker.stop();
    }
  }, 180_000);

  it('10: 8 concurrent writers keep one unforked chain; a flipped byte is found at its seq', async () => {
    const cv = await b.open();
    opened.push(cv);
    const writers = [cv];
    for (let w = 1; w < 8 && b.name === 'postgres'; w++) {
      const s = await b.openSibling(cv);
      opened.push(s);
      writers.push(s);
    }
    await cv.registerExecutor('e', { concurrency: 100 });
    const items = await cv.enqueueWorkItems(Array.from({ length: 10 }, () => ({ type: 'chain' })));
    await Promise.all(items.map((i) => cv.startExecution(i.id, 'e')));
    // 8 writers × 10 progress reports on every item, all at once.
    await Promise.all(
      items.flatMap((item) =>
        Array.from({ length: 8 }, (_, w) =>
          (async () => {
            for (let p = 1; p <= 10; p++)
              await writers[w % writers.length]!.reportProgress(item.id, 'e', p * 9);
          })(),
        ),
      ),
    );
    for (const item of items) {
      const receipts = await cv.getWorkItemReceipts(item.id);
      expect(receipts.map((r) => r.seq)).toEqual(receipts.map((_, k) => k + 1));
      for (let k = 1; k < receipts.length; k++)
        expect(receipts[k]!.previousReceiptHash).toBe(receipts[k - 1]!.receiptHash);
      expect(receipts).toHaveLength(2 + 80);
      expect(await cv.verifyReceipts(item.id)).toMatchObject({ valid: true, count: 82 });
    }
    // One byte of one stored receipt: its hash no longer holds.
    const victim = items[3]!.id;
    const hash = (await cv.getWorkItemReceipts(victim))[40]!.receiptHash;
    const flipped = (hash[0] === 'a' ? 'b' : 'a') + hash.slice(1);
    await b.exec(
      cv,
      'UPDATE events SET receipt_hash = ? WHERE item_id = ? AND receipt_seq = 41',
      flipped,
      victim,
    );
    expect(await cv.verifyReceipts(victim)).toMatchObject({ valid: false, firstBrokenSeq: 41 });
    expect(await cv.verifyReceipts(items[4]!.id)).toMatchObject({ valid: true });
  });
});
