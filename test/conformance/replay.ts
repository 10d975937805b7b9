/**
 * The event log is the source of truth: after a randomized run of 1,000 operations (legal
 * and illegal, with retries, dependencies, cancels, expired leases and a worker), the
 * state rebuilt from the log alone equals the stored state of every item.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, type Conveyor } from '../../src/index.js';
import { rebuildItemStates } from '../../src/engine/replay.js';
import type { Store } from '../../src/store/store.js';
import { waitFor } from '../helpers/conveyors.js';
import type { TestBackend } from '../helpers/backends.js';

export function replaySuite(b: TestBackend): void {
  /** mulberry32: a seeded PRNG so a failure can be replayed with the same seed. */
  function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  let cv: Conveyor | undefined;
  afterEach(() => cv?.close());

  describe('replay', () => {
    it('rebuilds the stored state of every item from the event log after 1,000 random operations', async () => {
      const seed = Number(process.env.REPLAY_SEED ?? 20261123);
      const rand = prng(seed);
      const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
      const clock = createManualClock();
      cv = await b.open({ clock, random: rand });
      await cv.registerExecutor('e1', { capabilities: ['gpu'], concurrency: 1000 });
      await cv.registerExecutor('e2', { capabilities: [], concurrency: 1000 });
      const ids: string[] = [];
      const executors = ['e1', 'e2'];
      let ok = 0;
      let rejected = 0;
      const attempt = async (op: () => Promise<unknown>) => {
        try {
          await op();
          ok++;
        } catch (e) {
          if (!(e && typeof e === 'object' && 'code' in e)) throw e; // only typed rejections are expected
          rejected++;
        }
      };
      for (let n = 0; n < 1000; n++) {
        const r = rand();
        const id = pick(ids);
        const ex = pick(executors)!;
        if (r < 0.2 || !id) {
          const deps = ids.length > 0 && rand() < 0.3 ? [pick(ids)!] : [];
          await attempt(async () => {
            const item = await cv!.enqueueWorkItem({
              type: 'job',
              payload: { n, nested: { list: [n, 'x', null, true] } },
              priority: Math.floor(rand() * 40) - 20,
              constraints: {
                dependencies: deps,
                maxRetries: Math.floor(rand() * 3),
                requiredCapabilities: rand() < 0.2 ? ['gpu'] : [],
                ...(rand() < 0.2 ? { maxDurationMs: 10_000 } : {}),
              },
              ...(rand() < 0.2 ? { budget: { ops: 5 } } : {}),
              ...(rand() < 0.1 ? { delayMs: 2000 } : {}),
              ...(rand() < 0.1 ? { idempotencyKey: `k${Math.floor(rand() * 20)}` } : {}),
            });
            ids.push(item.id);
          });
        } else if (r < 0.32) await attempt(() => cv!.assignWorkItem(id, ex));
        else if (r < 0.5) await attempt(() => cv!.startExecution(id, ex));
        else if (r < 0.6) await attempt(() => cv!.reportProgress(id, ex, Math.floor(rand() * 101), 'step'));
        else if (r < 0.72)
          await attempt(() =>
            cv!.completeWorkItem(id, ex, { output: { n }, usage: { ops: Math.floor(rand() * 7) } }),
          );
        else if (r < 0.82)
          await attempt(() =>
            cv!.failWorkItem(id, ex, { error: { message: 'x', code: 'E' }, retryable: rand() < 0.7 }),
          );
        else if (r < 0.88)
          await attempt(() => cv!.cancelWorkItem(id, rand() < 0.5 ? null : ex, { reason: 'random' }));
        else if (r < 0.94) await attempt(() => cv!.heartbeat(id, ex));
        else {
          clock.advance(Math.floor(rand() * 40_000));
          await attempt(() => cv!.reapExpiredLeases());
        }
      }
      if (process.env.REPLAY_DEBUG) console.log({ ok, rejected, items: ids.length });
      expect(ok + rejected).toBe(1000);
      expect(ok).toBeGreaterThan(300);
      expect(rejected).toBeGreaterThan(50);

      // A worker finishes whatever it can, with progress, budget use and logs, on the real clock's timers.
      clock.advance(60_000);
      await cv.reapExpiredLeases();
      const w = cv.worker({
        concurrency: 8,
        capabilities: ['gpu'],
        handlers: {
          job: async (p: { n: number }, ctx) => {
            await ctx.progress(50);
            await ctx.log(`job ${p.n}`);
            await ctx.consume('ops', 1);
            return { done: p.n };
          },
        },
      });
      await w.start();
      await waitFor(async () => {
        const c = await cv!.getCounts();
        return c.queued + c.running + c.assigned === 0;
      }, 'the worker to drain the queue');
      await w.stop();

      const counts = await cv.getCounts();
      if (process.env.REPLAY_DEBUG) console.log(counts);
      expect(counts.completed).toBeGreaterThan(0);
      expect(counts.failed + counts.cancelled + counts.skipped).toBeGreaterThan(0);

      const check = await cv.checkEventLog();
      expect(check.items).toBe(new Set(ids).size);
      expect(check.mismatches).toEqual([]);
      for (const id of ids.slice(0, 50)) expect((await cv.verifyReceipts(id)).valid).toBe(true);
    });

    it('reports a stored row that the log does not explain', async () => {
      const c = (cv = await b.open());
      const first = await c.enqueueWorkItem({ type: 'job' });
      const second = await c.enqueueWorkItem({ type: 'job' });
      // A write that bypasses the engine (and so the log):
      await b.exec(c, `UPDATE items SET priority = 99 WHERE id = ?`, second.id);
      expect((await c.checkEventLog()).mismatches).toEqual([second.id]);
      const store = (c as unknown as { engine: { store: Store } }).engine.store;
      const states = await rebuildItemStates(store);
      expect(states.get(first.id)?.status).toBe('queued');
    });
  });
}
