/**
 * Several worker processes on one PostgreSQL schema (test/helpers/worker-process.mjs on the
 * built dist/): 4 processes × concurrency 10 drain 5,000 items that record each execution
 * in a table; a SIGKILLed process's items are completed by the others within lease + 2 s;
 * a holder paused past its lease cannot report afterwards; a process whose clock runs an
 * hour ahead neither steals leases nor runs delayed items early (the database's clock rules).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Conveyor, WorkItem } from '../../src/index.js';
import { PG_URL, postgresBackend, requirePostgres } from '../helpers/backends.js';
import { tempDir, waitFor } from '../helpers/conveyors.js';
import { killAllChildren, spawnedChildren, spawnWorker, type ChildConfig } from '../helpers/mp-children.js';

const available = await requirePostgres('postgres-multi-process.test.ts');

let cv: Conveyor | undefined;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail')
    for (const child of spawnedChildren()) console.error(child.describe());
  await killAllChildren();
  await cv?.close();
  cv = undefined;
});

const schemaOf = (c: Conveyor) =>
  (c as unknown as { engine: { store: { schema: string } } }).engine.store.schema;

async function sql<R extends pg.QueryResultRow>(
  schema: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** A fresh schema with an executions table, and a folder for the children's logs. */
async function setup(leaseMs = 2000) {
  cv = await postgresBackend.open({ leaseMs });
  const schema = schemaOf(cv);
  await sql(
    schema,
    `CREATE TABLE executions (item_id text NOT NULL, attempt int NOT NULL, executor_id text NOT NULL,
       lease_token bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  );
  const dir = tempDir('conveyor-pgmp-');
  const child = (id: string, extra: Partial<ChildConfig> = {}) =>
    spawnWorker({ db: PG_URL, schema, id, log: join(dir, `${id}.log`), recordTable: 'executions', ...extra });
  return { cv, schema, dir, child };
}

async function allItems(c: Conveyor): Promise<WorkItem[]> {
  const items: WorkItem[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await c.listWorkItems({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    items.push(...page.items);
    if (page.nextCursor === null || page.items.length === 0) return items;
    cursor = page.nextCursor;
  }
}

/** Per item: how many `completed` and `started` receipts it has. */
async function receiptCounts(schema: string) {
  const rows = await sql<{ item_id: string; completed: string; started: string }>(
    schema,
    `SELECT item_id, count(*) FILTER (WHERE receipt_status = 'completed') AS completed,
            count(*) FILTER (WHERE receipt_status = 'started') AS started
       FROM events WHERE receipt_seq IS NOT NULL GROUP BY item_id`,
  );
  return new Map(
    rows.map((r) => [r.item_id, { completed: Number(r.completed), started: Number(r.started) }]),
  );
}

describe.skipIf(!available)('multi-process on PostgreSQL', () => {
  it('4 processes × concurrency 10 drain 5,000 items: each completed exactly once, none lost', async () => {
    const { cv, schema, child } = await setup(5000);
    const children = ['pa', 'pb', 'pc', 'pd'].map((id) => child(id, { concurrency: 10, leaseMs: 5000 }));
    await Promise.all(children.map((c) => c.waitForStdout('ready')));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const batch = await cv.enqueueWorkItems(
        Array.from({ length: 1000 }, (_, j) => ({ type: 'job', payload: { i: i * 1000 + j } })),
      );
      ids.push(...batch.map((x) => x.id));
    }
    await waitFor(async () => (await cv.getCounts()).completed === 5000, '5,000 completions', 120_000);
    const exits = await Promise.all(children.map((c) => c.stopGracefully()));
    for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null });

    expect(await cv.getCounts()).toMatchObject({
      completed: 5000,
      queued: 0,
      running: 0,
      failed: 0,
      pending: 0,
    });
    const items = await allItems(cv);
    expect(new Set(items.map((i) => i.id))).toEqual(new Set(ids));
    const executions = await sql<{ item_id: string; executor_id: string }>(
      schema,
      'SELECT * FROM executions',
    );
    expect(executions.length).toBeGreaterThanOrEqual(5000);
    expect(new Set(executions.map((e) => e.item_id)).size).toBe(5000);
    const counts = await receiptCounts(schema);
    for (const item of items) {
      expect(counts.get(item.id)?.completed, item.id).toBe(1);
      // The completing executor did run it.
      const by = (item.output as { by: string }).by;
      expect(executions.some((e) => e.item_id === item.id && e.executor_id === by)).toBe(true);
    }
    expect(new Set(items.map((i) => (i.output as { by: string }).by)).size).toBe(4);
    expect((await cv.checkEventLog()).mismatches).toEqual([]);
  });

  it('a SIGKILLed process: its items are completed by the others within lease + 2 s, none lost', async () => {
    const leaseMs = 2000;
    const { cv, schema, child } = await setup(leaseMs);
    const common = { concurrency: 10, leaseMs, reaperIntervalMs: 200 };
    const victim = child('victim', common);
    const others = ['k1', 'k2', 'k3'].map((id) => child(id, common));
    await Promise.all([victim, ...others].map((c) => c.waitForStdout('ready')));
    await cv.enqueueWorkItems(
      Array.from({ length: 2000 }, (_, i) => ({ type: 'job', payload: { i, ms: 20 } })),
    );
    await waitFor(async () => (await cv.getCounts()).completed >= 400, '400 completions', 60_000);

    await victim.kill();
    const killedAt = Date.now();
    const held = (await cv.listWorkItems({ status: 'running', limit: 1000 })).items.filter(
      (i) => i.executorId === 'victim',
    );
    expect(held.length).toBeGreaterThan(0);
    await waitFor(
      async () => {
        for (const { id } of held) if ((await cv.getWorkItem(id)).status !== 'completed') return false;
        return true;
      },
      "the killed process's items to be completed elsewhere",
      leaseMs + 2000,
    );
    const recoveredMs = Date.now() - killedAt;
    for (const { id } of held) {
      const receipts = (await cv.getWorkItemReceipts(id)).map((r) => `${r.status}:${r.executorId}`);
      expect(receipts).toContain('lease_expired:victim');
      expect(receipts.at(-1)).not.toBe('completed:victim');
    }
    await waitFor(async () => (await cv.getCounts()).completed === 2000, 'all 2,000 completions', 60_000);
    const counts = await receiptCounts(schema);
    expect(counts.size).toBe(2000);
    expect([...counts.values()].every((c) => c.completed === 1)).toBe(true);
    expect(recoveredMs).toBeLessThanOrEqual(leaseMs + 2000);
  });

  it("a holder paused past its lease: its late completion is refused, the other's stands", async () => {
    const { cv, dir, child } = await setup(500);
    const goFile = join(dir, 'go');
    const a = child('paused', { leaseMs: 500 });
    await a.waitForStdout('ready');
    const { id } = await cv.enqueueWorkItem({ type: 'stall', payload: { goFile } });
    await a.waitUntil(() => a.logLines().some((l) => l.kind === 'start'), 'the handler to start');
    a.signal('SIGSTOP');
    const refused = () => a.stderr.includes(`result for ${id} not recorded`);
    const b = cv.worker({
      id: 'winner',
      leaseMs: 5000,
      reaperIntervalMs: 50,
      handlers: {
        stall: async (_p, ctx) => {
          await waitFor(refused, "the paused holder's result to be refused", 30_000);
          return { by: ctx.executorId };
        },
      },
    });
    await b.start();
    await waitFor(
      async () => (await cv.getWorkItem(id)).executorId === 'winner',
      'the winner to take over',
      20_000,
    );
    writeFileSync(goFile, '');
    a.signal('SIGCONT');
    await a.waitUntil(refused, 'the late result to be refused');
    expect(a.stderr).toContain('does not hold its lease (held by winner)');
    await waitFor(
      async () => (await cv.getWorkItem(id)).status === 'completed',
      'the winner to complete',
      20_000,
    );
    await b.stop();
    expect(await cv.getWorkItem(id)).toMatchObject({
      status: 'completed',
      output: { by: 'winner' },
      attempts: 2,
    });
    const receipts = await cv.getWorkItemReceipts(id);
    expect(receipts.map((r) => `${r.status}:${r.executorId}`)).toEqual([
      'enqueued:null',
      'started:paused',
      'lease_expired:paused',
      'started:winner',
      'completed:winner',
    ]);
    expect(await cv.verifyReceipts(id)).toMatchObject({ valid: true });
  });

  it('a process whose clock runs an hour ahead neither steals leases nor runs delayed items early', async () => {
    const { cv, child } = await setup(1500);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const holder = cv.worker({
      id: 'holder',
      leaseMs: 1500,
      handlers: { hold: () => released.then(() => 'held') },
    });
    await holder.start();
    const held = await cv.enqueueWorkItem({ type: 'hold' });
    await waitFor(async () => (await cv.getWorkItem(held.id)).status === 'running', 'the holder to start');
    // Its reaper runs every 50 ms on a clock an hour fast.
    const skewed = child('skewed', { skewMs: 3_600_000, reaperIntervalMs: 50, pollIntervalMs: 100 });
    await skewed.waitForStdout('ready');
    const enqueuedAt = Date.now();
    const delayed = await cv.enqueueWorkItem({ type: 'job', delayMs: 2000 });
    await waitFor(
      async () => (await cv.getWorkItem(delayed.id)).status === 'completed',
      'the delayed item',
      10_000,
    );
    // Timestamps written by the skewed process would prove nothing if it used its own
    // clock, so judge by this process's clock: the item did not run before its delay.
    expect(Date.now() - enqueuedAt).toBeGreaterThanOrEqual(1990);
    const receipts = await cv.getWorkItemReceipts(delayed.id);
    expect(receipts.find((r) => r.status === 'started')!.executorId).toBe('skewed');
    // The holder kept its lease through 2+ s of a skewed reaper.
    expect(await cv.getWorkItem(held.id)).toMatchObject({ status: 'running', executorId: 'holder' });
    expect((await cv.getWorkItemReceipts(held.id)).map((r) => r.status)).toEqual(['enqueued', 'started']);
    release();
    await waitFor(async () => (await cv.getWorkItem(held.id)).status === 'completed', 'the held item');
    await holder.stop();
  });
});
