/**
 * Several processes on one SQLite file: worker children (test/helpers/worker-process.mjs,
 * running the built dist/) share the queue with this process. Checks that no item is
 * completed twice or lost, that a SIGKILLed holder's items come back after the lease, and
 * that a holder that comes back after losing its lease cannot overwrite the result.
 *
 * Needs `npm run build` first (the children import dist/index.js).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Conveyor, Receipt, WorkItem } from '../../src/index.js';
import { openTestConveyor, tempDir, waitFor } from '../helpers/conveyors.js';
import { killAllChildren, spawnedChildren, spawnWorker, type ChildWorker } from '../helpers/mp-children.js';

let cv: Conveyor | undefined;

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    for (const child of spawnedChildren()) console.error(child.describe());
  }
  await killAllChildren();
  await cv?.close();
  cv = undefined;
});

/** A fresh SQLite file opened (and migrated) by this process, and a folder for the children's logs. */
async function setup(): Promise<{ dir: string; db: string; cv: Conveyor }> {
  const dir = tempDir('conveyor-mp-');
  const db = join(dir, 'conveyor.db');
  cv = await openTestConveyor({ database: db, leaseMs: 1000 });
  return { dir, db, cv };
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

const statuses = (receipts: Receipt[]) => receipts.map((r) => r.status);
const count = <T>(xs: T[], pred: (x: T) => boolean) => xs.filter(pred).length;

/** Resolves once `child` has written `n` `start` lines to its executions log. */
const startedIn = (child: ChildWorker, n: number, timeoutMs = 20_000) =>
  child.waitUntil(
    () => count(child.logLines(), (l) => l.kind === 'start') >= n,
    `${n} handler start(s)`,
    timeoutMs,
  );

describe('multi-process: several processes on one SQLite file', () => {
  it('two worker processes drain 2,000 items: each completed exactly once, none lost', async () => {
    const { dir, db, cv } = await setup();
    // Start both children first, so neither can drain the queue before the other is up.
    const children = ['mp-a', 'mp-b'].map((id) =>
      spawnWorker({ db, id, log: join(dir, `${id}.log`), concurrency: 10, leaseMs: 5000 }),
    );
    await Promise.all(children.map((c) => c.waitForStdout('ready')));

    const enqueued = await cv.enqueueWorkItems(
      Array.from({ length: 2000 }, (_, i) => ({ type: 'job', payload: { i } })),
    );
    await waitFor(async () => (await cv.getCounts()).completed === 2000, '2,000 completions', 40_000);
    const exits = await Promise.all(children.map((c) => c.stopGracefully()));
    for (const [i, exit] of exits.entries()) {
      expect(exit, children[i]!.describe()).toEqual({ code: 0, signal: null });
      expect(children[i]!.stdout).toContain('stopped');
    }

    // Nothing else is left in any state, and every enqueued id is there, completed.
    expect(await cv.getCounts()).toEqual({
      pending: 0,
      queued: 0,
      assigned: 0,
      running: 0,
      completed: 2000,
      failed: 0,
      cancelled: 0,
      skipped: 0,
    });
    const items = await allItems(cv);
    expect(items).toHaveLength(2000);
    expect(new Set(items.map((i) => i.id))).toEqual(new Set(enqueued.map((i) => i.id)));

    // Executions per item, from both children's logs.
    const lines = children.flatMap((c) => c.logLines());
    expect(lines.every((l) => l.kind === 'exec')).toBe(true);
    const execs = new Map<string, typeof lines>();
    for (const l of lines) execs.set(l.itemId, [...(execs.get(l.itemId) ?? []), l]);
    expect(lines.length).toBeGreaterThanOrEqual(2000);

    const byWorker = new Map<string, number>();
    for (const item of items) {
      expect(item.status).toBe('completed');
      const receipts = await cv.getWorkItemReceipts(item.id);
      const completed = receipts.filter((r) => r.status === 'completed');
      const started = receipts.filter((r) => r.status === 'started');
      // Exactly one completion, by the executor named in the output, which did run it.
      expect(completed, item.id).toHaveLength(1);
      const by = (item.output as { by: string }).by;
      expect(['mp-a', 'mp-b']).toContain(by);
      expect(completed[0]!.executorId).toBe(by);
      expect(item.executorId).toBe(by);
      const runs = execs.get(item.id) ?? [];
      expect(
        runs.some((r) => r.executorId === by),
        item.id,
      ).toBe(true);
      // Every claim (started receipt) ran the handler once, and nothing ran unclaimed.
      expect(runs).toHaveLength(started.length);
      expect(item.attempts).toBe(started.length);
      expect(new Set(runs.map((r) => r.leaseToken)).size).toBe(runs.length);
      byWorker.set(by, (byWorker.get(by) ?? 0) + 1);
    }
    expect(execs.size).toBe(2000);
    expect(byWorker.get('mp-a') ?? 0).toBeGreaterThan(0);
    expect(byWorker.get('mp-b') ?? 0).toBeGreaterThan(0);

    for (const item of items.filter((_, i) => i % 20 === 0)) {
      expect(await cv.verifyReceipts(item.id)).toMatchObject({ valid: true });
    }
    expect((await cv.checkEventLog()).mismatches).toEqual([]);
  });

  it('a SIGKILLed worker process: its items come back after the lease and complete elsewhere', async () => {
    const { dir, db, cv } = await setup();
    const leaseMs = 1000;
    const a = spawnWorker({ db, id: 'mp-killed', log: join(dir, 'killed.log'), concurrency: 5, leaseMs });
    await a.waitForStdout('ready');
    const items = await cv.enqueueWorkItems(
      Array.from({ length: 5 }, (_, i) => ({ type: 'hang', payload: { i } })),
    );
    await startedIn(a, 5);
    expect((await cv.getCounts()).running).toBe(5);
    expect(await a.kill()).toEqual({ code: null, signal: 'SIGKILL' });

    const rescuer = cv.worker({
      id: 'rescuer',
      concurrency: 5,
      leaseMs: 5000,
      reaperIntervalMs: 50,
      handlers: { hang: (_p, ctx) => ({ by: ctx.executorId }) },
    });
    await rescuer.start();
    await waitFor(async () => (await cv.getCounts()).completed === 5, '5 rescued completions', 20_000);
    await rescuer.stop();

    const startedByA = a.logLines().map((l) => l.itemId);
    expect(startedByA.sort()).toEqual(items.map((i) => i.id).sort());
    for (const { id } of items) {
      const item = await cv.getWorkItem(id);
      const receipts = await cv.getWorkItemReceipts(id);
      expect(statuses(receipts), id).toEqual([
        'enqueued',
        'started',
        'lease_expired',
        'started',
        'completed',
      ]);
      const [, startedA, expired, startedB, completed] = receipts;
      expect(startedA!.executorId).toBe('mp-killed');
      expect(expired!.executorId).toBe('mp-killed');
      expect(startedB!.executorId).toBe('rescuer');
      expect(completed!.executorId).toBe('rescuer');
      // Reaped only after the lease ran out: at least leaseMs after A's claim (later if A's
      // heartbeats renewed it before the kill). A receipt order check, not a timing one.
      expect(Date.parse(expired!.timestamp_iso)).toBeGreaterThanOrEqual(
        Date.parse(startedA!.timestamp_iso) + leaseMs,
      );
      expect(item).toMatchObject({ status: 'completed', attempts: 2, retries: 1, output: { by: 'rescuer' } });
      expect(await cv.verifyReceipts(id)).toMatchObject({ valid: true, count: 5 });
    }
    expect(await cv.getCounts()).toMatchObject({ completed: 5, queued: 0, running: 0, failed: 0 });
  });

  /**
   * A holder is paused (SIGSTOP) past its lease while this process completes the item;
   * resumed, its handler returns too. Which of the holder's defences stops it depends on
   * whether its heartbeat (lease lost → run aborted) or its handler runs first on resume.
   */
  it('a SIGSTOPped holder resumed after the item was completed elsewhere cannot overwrite it', async () => {
    const { dir, db, cv } = await setup();
    const goFile = join(dir, 'go');
    const a = spawnWorker({ db, id: 'mp-paused', log: join(dir, 'paused.log'), leaseMs: 500 });
    await a.waitForStdout('ready');
    const { id } = await cv.enqueueWorkItem({ type: 'slow', payload: { goFile } });
    await startedIn(a, 1);
    a.signal('SIGSTOP');
    await expectHeldBy(cv, id, a.id);

    // The paused holder cannot renew: the reaper (here: an explicit call) returns the item.
    await waitFor(async () => (await cv.reapExpiredLeases()) > 0, 'the expired lease to be reaped', 20_000);
    const b = cv.worker({
      id: 'mp-b',
      leaseMs: 5000,
      handlers: { slow: (_p, ctx) => ({ by: ctx.executorId }) },
    });
    await b.start();
    await waitFor(
      async () => (await cv.getWorkItem(id)).status === 'completed',
      'B to complete the item',
      20_000,
    );
    await b.stop();

    writeFileSync(goFile, '');
    a.signal('SIGCONT');
    await a.waitUntil(() => a.logLines().some((l) => l.kind === 'finish'), 'the late handler to finish');
    // A clean stop drains the worker's pending results before it closes.
    expect(await a.stopGracefully(), a.describe()).toEqual({ code: 0, signal: null });

    // Either the resumed heartbeat aborted the run (its result then goes nowhere), or the
    // handler returned first and the engine refused the result (the item is no longer running).
    const finish = a.logLines().find((l) => l.kind === 'finish')!;
    const rejected = a.stderr.includes(`result for ${id} not recorded`);
    expect(finish.rest.includes('aborted=true') || rejected, a.describe()).toBe(true);
    await expectCompletedOnceBy(cv, id, a.id, 'mp-b');
  });

  /**
   * The sharper case: the holder's event loop is stuck in its handler (no heartbeat can run)
   * and it is SIGSTOPped; the item is reaped and re-claimed by B, and while B still runs it,
   * A resumes and reports its completion with the old lease token. The engine must refuse it
   * (LEASE_LOST) without touching the item; B's completion afterwards is the only one.
   */
  it('a stalled holder reporting while another worker runs the item is fenced off by its lease', async () => {
    const { dir, db, cv } = await setup();
    const goFile = join(dir, 'go');
    const a = spawnWorker({ db, id: 'mp-stalled', log: join(dir, 'stalled.log'), leaseMs: 500 });
    await a.waitForStdout('ready');
    const { id } = await cv.enqueueWorkItem({ type: 'stall', payload: { goFile } });
    await startedIn(a, 1);
    a.signal('SIGSTOP');
    await expectHeldBy(cv, id, a.id);

    const aRejected = () => a.stderr.includes(`result for ${id} not recorded`);
    const b = cv.worker({
      id: 'mp-b',
      leaseMs: 5000,
      reaperIntervalMs: 50,
      handlers: {
        // B holds the item until A's late result has been refused, then completes it.
        stall: async (_p, ctx) => {
          await waitFor(aRejected, "A's late result to be refused", 30_000);
          return { by: ctx.executorId };
        },
      },
    });
    await b.start();
    await waitFor(
      async () => (await cv.getWorkItem(id)).executorId === 'mp-b',
      "B's reaper to return the item and B to claim it",
      20_000,
    );
    expect(await cv.getWorkItem(id)).toMatchObject({ status: 'running', attempts: 2 });

    writeFileSync(goFile, '');
    a.signal('SIGCONT');
    await a.waitUntil(aRejected, "A's late result to be refused");
    // No heartbeat could run before the handler returned, so the result reached the engine
    // with A's old lease token and was refused by the fencing check.
    expect(a.logLines().find((l) => l.kind === 'finish')!.rest).toContain('aborted=false');
    expect(a.stderr).toContain(`result for ${id} not recorded: LeaseLostError`);
    expect(a.stderr).toContain('does not hold its lease (held by mp-b)');
    // Refusing it changed nothing: B still holds the item, then completes it.
    await waitFor(
      async () => (await cv.getWorkItem(id)).status === 'completed',
      'B to complete the item',
      20_000,
    );
    await b.stop();
    expect(await a.stopGracefully(), a.describe()).toEqual({ code: 0, signal: null });
    await expectCompletedOnceBy(cv, id, a.id, 'mp-b');
  });
});

async function expectHeldBy(cv: Conveyor, id: string, executorId: string): Promise<void> {
  expect(await cv.getWorkItem(id)).toMatchObject({ status: 'running', executorId, attempts: 1 });
}

/** Reaped from `late`, then started and completed by `winner` only: five receipts, a valid chain. */
async function expectCompletedOnceBy(cv: Conveyor, id: string, late: string, winner: string): Promise<void> {
  const item = await cv.getWorkItem(id);
  expect(item).toMatchObject({
    status: 'completed',
    executorId: winner,
    output: { by: winner },
    attempts: 2,
  });
  const receipts = await cv.getWorkItemReceipts(id);
  expect(statuses(receipts)).toEqual(['enqueued', 'started', 'lease_expired', 'started', 'completed']);
  expect(receipts.map((r) => r.executorId)).toEqual([null, late, late, winner, winner]);
  expect(await cv.verifyReceipts(id)).toMatchObject({ valid: true, count: 5 });
  expect(await cv.getCounts()).toMatchObject({ completed: 1, queued: 0, running: 0, failed: 0 });
}

describe('a worker process', () => {
  it('stays alive while its worker runs and exits on its own once the worker stops', async () => {
    const { spawn } = await import('node:child_process');
    const dist = new URL('../../dist/index.js', import.meta.url).href;
    const db = join(tempDir(), 'alive.db');
    // A script with nothing but a started worker: no server, no timer of its own.
    const script = `
      const { createConveyor } = await import(${JSON.stringify(dist)});
      const cv = await createConveyor({ database: ${JSON.stringify(db)} });
      const w = cv.worker({ handlers: { t: () => 1 } });
      await w.start();
      console.log('started');
      process.on('SIGTERM', () => void cv.close());`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let exitCode: number | null | undefined;
    child.on('exit', (code) => (exitCode = code));
    try {
      await waitFor(() => out.includes('started'), 'the worker to start');
      await new Promise((r) => setTimeout(r, 500));
      expect(exitCode).toBeUndefined();
      child.kill('SIGTERM');
      await waitFor(() => exitCode !== undefined, 'the process to exit after stop');
      expect(exitCode).toBe(0);
    } finally {
      if (exitCode === undefined) child.kill('SIGKILL');
    }
  });
});
