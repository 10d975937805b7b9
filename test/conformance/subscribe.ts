/**
 * `subscribe`: the backlog after `afterSeq` first, then live events, in seq order, none
 * twice — while workers write concurrently.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Conveyor, ConveyorEvent } from '../../src/index.js';
import { waitFor } from '../helpers/conveyors.js';
import type { TestBackend } from '../helpers/backends.js';

export function subscribeSuite(b: TestBackend): void {
  let cv: Conveyor;
  beforeEach(async () => {
    cv = await b.open();
  });
  afterEach(() => cv.close());

  const head = async (c: Conveyor): Promise<number> =>
    (c as unknown as { engine: { store: { headSeq(): Promise<number> | number } } }).engine.store.headSeq();

  describe('subscribe', () => {
    it('delivers the backlog then live events, in order, none twice, during a concurrent run', async () => {
      await cv.enqueueWorkItems(Array.from({ length: 50 }, (_, i) => ({ type: 't', payload: i })));
      const seen: ConveyorEvent[] = [];
      const sub = cv.subscribe({ afterSeq: 0 }, async (e) => {
        seen.push(e);
        if (e.seq % 7 === 0) await new Promise((r) => setTimeout(r, 1)); // a slow listener now and then
      });
      const w = cv.worker({ concurrency: 5, handlers: { t: async (_p, ctx) => ctx.progress(50) } });
      await w.start();
      await cv.enqueueWorkItems(Array.from({ length: 50 }, (_, i) => ({ type: 't', payload: 50 + i })));
      await waitFor(async () => (await cv.getCounts()).completed === 100, 'all completions');
      await w.stop();
      const last = await head(cv);
      await waitFor(() => sub.lastSeq === last, 'the subscriber to catch up');
      sub.close();
      expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect(seen.filter((e) => e.type === 'item.completed')).toHaveLength(100);
      expect(seen[0]).toMatchObject({ seq: 1, type: 'item.enqueued', tenant: 'default', workflowId: null });
      expect(typeof seen[0]!.at).toBe('string');
    });

    it('without afterSeq delivers only new events; with afterSeq only those after it', async () => {
      const a = await cv.enqueueWorkItem({ type: 't' });
      const live: number[] = [];
      const sub = cv.subscribe({}, (e) => void live.push(e.seq));
      await sub.ready;
      const mid = await head(cv);
      const b = await cv.enqueueWorkItem({ type: 't' });
      await waitFor(() => live.length === 1, 'the live event');
      const from: string[] = [];
      const sub2 = cv.subscribe({ afterSeq: mid }, (e) => void from.push(e.itemId!));
      await sub2.ready;
      sub.close();
      sub2.close();
      expect(live).toEqual([mid + 1]);
      expect(from).toEqual([b.id]);
      expect(from).not.toContain(a.id);
    });

    it('filters by item id, and stops delivering after close()', async () => {
      const [a, b] = await cv.enqueueWorkItems([{ type: 't' }, { type: 't' }]);
      const forA: string[] = [];
      const sub = cv.subscribe(
        { itemId: a!.id, afterSeq: 0 },
        (e) => void forA.push(`${e.itemId}:${e.type}`),
      );
      await cv.registerExecutor('e', { concurrency: 2 });
      await cv.startExecution(a!.id, 'e');
      await cv.startExecution(b!.id, 'e');
      await waitFor(() => forA.length === 2, 'two events for a');
      sub.close();
      await cv.completeWorkItem(a!.id, 'e', {});
      // A witness on the same filter: once it has the completion, a live subscription would too.
      const witness: string[] = [];
      const w = cv.subscribe({ itemId: a!.id, afterSeq: 0 }, (e) => void witness.push(e.type));
      await waitFor(() => witness.includes('item.completed'), 'the witness to see the completion');
      w.close();
      expect(forA).toEqual([`${a!.id}:item.enqueued`, `${a!.id}:item.started`]);
    });

    it('a listener that throws does not stop the subscription', async () => {
      const got: number[] = [];
      const sub = cv.subscribe({ afterSeq: 0 }, (e) => {
        got.push(e.seq);
        if (e.seq === 1) throw new Error('listener bug');
      });
      await cv.enqueueWorkItems([{ type: 't' }, { type: 't' }]);
      await waitFor(() => got.length === 2, 'both events');
      sub.close();
    });

    it('sees events written by another Conveyor on the same file (another process, same mechanism)', async () => {
      const other = await b.openSibling(cv);
      const got: string[] = [];
      const sub = cv.subscribe({}, (e) => void got.push(e.type));
      await sub.ready;
      await other.enqueueWorkItem({ type: 't' });
      await waitFor(() => got.length === 1, 'the other writer’s event', 3000);
      sub.close();
      await other.close();
      expect(got).toEqual(['item.enqueued']);
    });
  });
}
