/**
 * Claims that name their types (a worker with handlers for some types, a remote executor's
 * `types`) read each type's run of the claim-by-type index and merge them (migration 0004):
 * queued items of types nobody takes, however many and however far ahead in claim order,
 * must change neither which items such a claim gets nor their order, which stays the one
 * global claim order (priority, then run time, then enqueue order) across the types, with
 * queues, tenant, capabilities and run time still applied. Behaviour only, no timing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, type Conveyor, type EnqueueInput, type ManualClock } from '../../src/index.js';
import type { Store } from '../../src/store/store.js';
import type { TestBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/conveyors.js';

/** Queued items of a type nobody claims, put ahead of everything else in claim order. */
const UNTAKEN = 300;
const T0 = Date.UTC(2026, 5, 1);

const storeOf = (cv: Conveyor) => (cv as unknown as { engine: { store: Store } }).engine.store;

export function claimByTypeSuite(b: TestBackend): void {
  let cv: Conveyor;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = createManualClock(T0);
    cv = await b.open({ clock });
  });
  afterEach(() => cv.close());

  /** Items of a type nobody takes: critical ones due first, then normal ones due at T0. */
  const enqueueUntaken = () =>
    cv.enqueueWorkItems(
      Array.from({ length: UNTAKEN }, (_, i) => ({
        type: 'nobody',
        priority: i % 3 === 0 ? 0 : 20,
        payload: { i },
      })),
    );

  /** Every item `claim` returns until it returns none, in the order returned. */
  async function drain(claim: () => Promise<Array<{ id: string }>>): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const got = await claim();
      if (got.length === 0) return out;
      out.push(...got.map((i) => i.id));
    }
  }

  describe('claim by type', () => {
    it('behind many queued items of an untaken type: exactly its items, in global claim order', async () => {
      await cv.registerExecutor('x', { capabilities: ['gpu'] });
      await enqueueUntaken();
      const at = (ms: number) => T0 + ms;
      const specs: Record<string, EnqueueInput> = {
        a1: { type: 'a', runAt: at(500) },
        b1: { type: 'b', runAt: at(100) },
        a2: { type: 'a', priority: 'high', runAt: at(900) },
        // Same priority and run time as a2: enqueue order decides.
        b2: { type: 'b', priority: 'high', runAt: at(900) },
        b3: { type: 'b', priority: 'low', runAt: at(0) },
        a3: { type: 'a', priority: 15, runAt: at(2000) },
        // Same priority and run time as b1, enqueued after it.
        a4: { type: 'a', runAt: at(100) },
        b4: { type: 'b', priority: 'critical', runAt: at(3000) },
        bGpu: { type: 'b', runAt: at(300), constraints: { requiredCapabilities: ['gpu'] } },
        // Not for this claim (the first three are, for the last one below), all ahead in order:
        aOtherQueue: { type: 'a', priority: 'critical', queue: 'other', runAt: at(10) },
        aOtherTenant: { type: 'a', priority: 'critical', tenant: 'acme', runAt: at(20) },
        aTpu: { type: 'a', priority: 'critical', constraints: { requiredCapabilities: ['tpu'] } },
        aLater: { type: 'a', priority: 'critical', runAt: at(60_000) },
      };
      const names = Object.keys(specs);
      const items = await cv.enqueueWorkItems(Object.values(specs));
      const id = Object.fromEntries(names.map((n, i) => [n, items[i]!.id]));
      const nameOf = new Map(names.map((n) => [id[n], n]));
      const named = (ids: string[]) => ids.map((i) => nameOf.get(i) ?? `untaken:${i}`);
      clock.advance(10_000);

      const mine = { queues: ['default'], tenant: 'default' };
      // One type first, then both (listed in either order), a few at a time.
      expect(
        named((await cv.claimWorkItems('x', { ...mine, types: ['a'], limit: 2 })).map((i) => i.id)),
      ).toEqual(['a3', 'a2']);
      const rest = await drain(() => cv.claimWorkItems('x', { ...mine, types: ['b', 'a'], limit: 3 }));
      expect(named(rest)).toEqual(['b4', 'b2', 'b1', 'a4', 'bGpu', 'a1', 'b3']);

      // Without the queue and tenant filters the other two come, in order; a type listed
      // twice is claimed once; more types than are read one by one (41) claim the same way.
      expect(named((await cv.claimWorkItems('x', { types: ['a', 'a'], limit: 1 })).map((i) => i.id))).toEqual(
        ['aOtherQueue'],
      );
      const many = [...Array.from({ length: 40 }, (_, i) => `t${i}`), 'a'];
      expect(named((await cv.claimWorkItems('x', { types: many, limit: 10 })).map((i) => i.id))).toEqual([
        'aOtherTenant',
      ]);
      expect(await cv.claimWorkItems('x', { types: ['a', 'b'], limit: 10 })).toEqual([]);
      // What no claim could take is still queued: the untaken ones, the tpu one, the later one.
      expect((await cv.getCounts()).queued).toBe(UNTAKEN + 2);
      expect((await cv.getWorkItem(id.aTpu!)).status).toBe('queued');
      clock.advance(60_000);
      expect(
        named((await cv.claimWorkItems('x', { types: ['b', 'a'], limit: 10 })).map((i) => i.id)),
      ).toEqual(['aLater']);
    });

    it('the earliest not-yet-due item of the listed types ignores every other type', async () => {
      await enqueueUntaken();
      await cv.enqueueWorkItems([
        { type: 'a', delayMs: 5000 },
        { type: 'a', delayMs: 2000, queue: 'other' },
        { type: 'a', delayMs: 1000, constraints: { requiredCapabilities: ['gpu'] } },
        { type: 'b', delayMs: 3000 },
        { type: 'nobody', delayMs: 500 },
      ]);
      const store = storeOf(cv);
      const next = (types: string[] | null, queues: string[] | null = null, capabilities: string[] = []) =>
        store.nextRunAt({ types, queues, capabilities });
      expect(await next(['a'], ['default'])).toBe(T0 + 5000);
      expect(await next(['a'])).toBe(T0 + 2000);
      expect(await next(['a'], null, ['gpu'])).toBe(T0 + 1000);
      expect(await next(['b', 'a'], ['default'])).toBe(T0 + 3000);
      expect(await next(['c'])).toBeNull();
      // Any type: the untaken items, due already.
      expect(await next(null)).toBe(T0);
    });

    it('a worker for two types runs them in claim order behind queued items nobody takes', async () => {
      const order: string[] = [];
      await enqueueUntaken();
      await cv.enqueueWorkItems([
        { type: 'a', payload: 'a-low', priority: 'low' },
        { type: 'b', payload: 'b-high', priority: 'high' },
        { type: 'a', payload: 'a-normal' },
        { type: 'b', payload: 'b-normal' },
        { type: 'a', payload: 'a-high', priority: 'high' },
        { type: 'b', payload: 'b-critical', priority: 'critical' },
      ]);
      const record = (p: string) => void order.push(p);
      const w = cv.worker({ concurrency: 1, pollIntervalMs: 20, handlers: { a: record, b: record } });
      await w.start();
      await waitFor(() => order.length === 6, 'six items');
      await w.stop();
      expect(order).toEqual(['b-critical', 'b-high', 'a-high', 'a-normal', 'b-normal', 'a-low']);
      expect((await cv.getCounts()).queued).toBe(UNTAKEN);
    });

    it('claimers racing for the same types take the next items between them, each once', async () => {
      // Two claims at once on one Conveyor: on PostgreSQL two transactions on two pooled
      // connections, each skipping the rows the other has locked; SQLite runs them in turn.
      await cv.registerExecutor('x');
      await cv.registerExecutor('y');
      await enqueueUntaken();
      // Two types interleaved in claim order by priority: b0 a0 b1 a1 … (highest first).
      const items = await cv.enqueueWorkItems(
        Array.from({ length: 80 }, (_, i) => ({
          type: i % 2 === 0 ? 'a' : 'b',
          priority: 100 - i,
          payload: { i },
        })),
      );
      const rank = new Map(items.map((item, i) => [item.id, i]));
      const claim = (executor: string) => cv.claimWorkItems(executor, { types: ['a', 'b'], limit: 4 });
      for (let round = 0; round < 10; round++) {
        const [x, y] = await Promise.all([claim('x'), claim('y')]);
        // Each claimer's items in claim order; between them, the next eight, none twice.
        for (const got of [x, y]) {
          const ranks = got.map((i) => rank.get(i.id)!);
          expect(ranks).toEqual([...ranks].sort((p, q) => p - q));
        }
        const taken = [...x, ...y].map((i) => rank.get(i.id)!).sort((p, q) => p - q);
        expect(taken).toEqual(Array.from({ length: 8 }, (_, k) => round * 8 + k));
      }
    });
  });
}
