/**
 * Resilience patterns hold across processes: two worker processes (worker-process.mjs on
 * the built dist/) run the steps of one workflow, on SQLite and on PostgreSQL. A rate
 * limit is one token bucket for both; a circuit breaker opened by failures in one process
 * refuses the steps the other would have run.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Conveyor, WorkItem } from '../../src/index.js';
import { postgresBackend, PG_URL, requirePostgres, sqliteBackend } from '../helpers/backends.js';
import { tempDir } from '../helpers/conveyors.js';
import { killAllChildren, spawnedChildren, spawnWorker } from '../helpers/mp-children.js';

const postgres = await requirePostgres('workflow-multi-process.test.ts');

let cv: Conveyor | undefined;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail')
    for (const child of spawnedChildren()) console.error(child.describe());
  await killAllChildren();
  await cv?.close();
  cv = undefined;
});

const schemaOf = (c: Conveyor) =>
  (c as unknown as { engine: { store: { schema?: string } } }).engine.store.schema;
/** The SQLite file (better-sqlite3 calls it the database's name). */
const fileOf = (c: Conveyor) =>
  (c as unknown as { engine: { store: { db: { name: string } } } }).engine.store.db.name;

/** Two worker children on the same database as `c`. */
async function twoWorkers(c: Conveyor, kind: 'sqlite' | 'postgres') {
  const dir = tempDir('conveyor-wfmp-');
  const where = kind === 'postgres' ? { db: PG_URL, schema: schemaOf(c)! } : { db: fileOf(c) };
  const children = ['w1', 'w2'].map((id) =>
    spawnWorker({ ...where, id, log: join(dir, `${id}.log`), concurrency: 4, pollIntervalMs: 50 }),
  );
  await Promise.all(children.map((ch) => ch.waitForStdout('ready')));
  return children;
}

const mapChildren = async (c: Conveyor, workflowId: string): Promise<WorkItem[]> =>
  (await c.listWorkItems({ workflowId, limit: 1000 })).items.filter((i) => i.mapIndex !== null);

for (const [kind, backend, enabled] of [
  ['sqlite', sqliteBackend, true],
  ['postgres', postgresBackend, postgres],
] as const) {
  describe.skipIf(!enabled)(`workflow patterns across two worker processes (${kind})`, () => {
    it('a rate limit is one bucket for every process', async () => {
      cv = await backend.open();
      const children = await twoWorkers(cv, kind);
      const perSecond = 20;
      const burst = 2;
      const def = cv
        .workflow('limited')
        .step('calls', 'call', {
          map: { over: '{{input.items}}' },
          rateLimit: { key: 'shared-api', perSecond, burst },
        })
        .build();
      const { id } = await cv.startWorkflow(def, { items: Array.from({ length: 12 }, (_, i) => i) });
      const result = await cv.waitForWorkflow(id, { timeoutMs: 30_000 });
      expect(result.results.calls).toEqual(Array.from({ length: 12 }, (_, i) => i));
      const items = await mapChildren(cv, id);
      const by = new Set(items.map((i) => i.executorId));
      expect(by).toEqual(new Set(['w1', 'w2']));
      const starts = items.map((i) => Date.parse(i.startedAt!)).sort((a, b) => a - b);
      starts.forEach((t, k) => {
        const earliest = starts[0]! + (Math.max(0, k + 1 - burst) / perSecond) * 1000;
        expect(t).toBeGreaterThanOrEqual(earliest - 5);
      });
      expect(children.every((ch) => ch.logLines().length > 0)).toBe(true);
    });

    it('a circuit breaker opened in one process refuses the steps of the other', async () => {
      cv = await backend.open();
      const children = await twoWorkers(cv, kind);
      const def = cv
        .workflow('broken')
        .step('calls', 'down', {
          map: { over: '{{input.items}}', concurrency: 1, continueOnError: true },
          circuitBreaker: { key: 'shared-svc', failureThreshold: 3, resetTimeoutMs: 60_000 },
        })
        .build();
      const { id } = await cv.startWorkflow(def, { items: Array.from({ length: 10 }, (_, i) => i) });
      await cv.waitForWorkflow(id, { timeoutMs: 30_000 });
      const executions = children.flatMap((ch) => ch.logLines()).filter((l) => l.kind === 'exec');
      // Three real failures opened it; every later step failed fast without running.
      expect(executions).toHaveLength(3);
      const items = await mapChildren(cv, id);
      expect(items.filter((i) => i.error?.code === 'CIRCUIT_OPEN')).toHaveLength(7);
    });
  });
}
