/**
 * PostgreSQL restarted under load (`pg_ctlcluster … restart`, on a cluster of this test's
 * own): every item enqueued before and after completes exactly once, and the worker
 * processes recover by themselves: same processes, no restart, no crash.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConveyor, type Conveyor } from '../../src/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { tempDir, trackConveyor, waitFor } from '../helpers/conveyors.js';
import { killAllChildren, spawnedChildren, spawnWorker } from '../helpers/mp-children.js';
import {
  dropPrivatePostgres,
  privatePostgresUnavailable,
  PRIVATE_PG_URL,
  restartPrivatePostgres,
  startPrivatePostgres,
} from '../helpers/private-postgres.js';

const why = privatePostgresUnavailable();
if (why && process.env.CI) throw new Error(`postgres-restart.test.ts cannot run in CI: ${why}`);
if (why) console.warn(`\n*** SKIPPED postgres-restart.test.ts: ${why} ***\n`);

describe.skipIf(why !== null)('PostgreSQL restarted under load', () => {
  beforeAll(() => startPrivatePostgres());
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail')
      for (const child of spawnedChildren()) console.error(child.describe());
  });
  afterAll(async () => {
    await killAllChildren();
    dropPrivatePostgres();
  });

  it('every item enqueued before and after completes once; the workers recover without restarting', async () => {
    const cv: Conveyor = await createConveyor({
      database: PRIVATE_PG_URL,
      schema: 'restart',
      logger: silentLogger,
    });
    trackConveyor(cv);
    const dir = tempDir('conveyor-restart-');
    const children = ['r1', 'r2'].map((id) =>
      spawnWorker({
        db: PRIVATE_PG_URL,
        schema: 'restart',
        id,
        log: join(dir, `${id}.log`),
        concurrency: 10,
        leaseMs: 5000,
        reaperIntervalMs: 500,
        pollIntervalMs: 200,
      }),
    );
    await Promise.all(children.map((c) => c.waitForStdout('ready')));

    /** Enqueues a batch, retrying through the outage; idempotency keys make a retry safe. */
    const enqueue = async (from: number, n: number) => {
      const batch = Array.from({ length: n }, (_, i) => ({
        type: 'job',
        payload: { i: from + i, ms: 5 },
        idempotencyKey: `item-${from + i}`,
      }));
      for (let attempt = 0; ; attempt++) {
        try {
          return await cv.enqueueWorkItems(batch);
        } catch (e) {
          if (attempt > 100) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    for (let i = 0; i < 1000; i += 100) await enqueue(i, 100);
    await waitFor(async () => (await cv.getCounts()).completed >= 200, '200 completions', 30_000);

    restartPrivatePostgres();
    for (let i = 1000; i < 2000; i += 100) await enqueue(i, 100);

    await waitFor(
      async () => {
        try {
          return (await cv.getCounts()).completed === 2000;
        } catch {
          return false;
        }
      },
      'all 2,000 items to complete',
      90_000,
    );
    expect(await cv.getCounts()).toMatchObject({ completed: 2000, queued: 0, running: 0, failed: 0 });
    // Exactly one completion each, whatever was retried around the restart.
    const { items } = await cv.listWorkItems({ limit: 1000 });
    for (const item of items.slice(0, 200)) {
      const completed = (await cv.getWorkItemReceipts(item.id)).filter((r) => r.status === 'completed');
      expect(completed, item.id).toHaveLength(1);
    }
    expect((await cv.checkEventLog()).mismatches).toEqual([]);
    // Both workers lived through it: still the first process, still running, and working after the restart.
    for (const child of children) {
      expect(child.hasExited, child.describe()).toBe(false);
      expect(child.stdout.match(/ready/g)).toHaveLength(1);
    }
    const after = await cv.listWorkItems({ status: 'completed', limit: 1000 });
    expect(new Set(after.items.map((i) => (i.output as { by: string }).by))).toEqual(new Set(['r1', 'r2']));
    for (const child of children) expect(await child.stopGracefully()).toEqual({ code: 0, signal: null });
    await cv.close();
  }, 180_000);
});
