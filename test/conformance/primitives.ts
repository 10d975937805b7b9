/**
 * The work-item primitives of CONTRACT §4 on a real SQLite file: each legal path with its
 * receipts, and the typed errors of the illegal ones.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, type Conveyor, type ManualClock, type Receipt } from '../../src/index.js';
import type { Engine } from '../../src/engine/engine.js';
import type { TestBackend } from '../helpers/backends.js';

const engineOf = (cv: Conveyor) => (cv as unknown as { engine: Engine }).engine;

export function primitivesSuite(b: TestBackend): void {
  let cv: Conveyor;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = createManualClock(Date.UTC(2026, 5, 1));
    cv = await b.open({ clock, random: () => 0.5 });
    await cv.registerExecutor('executor-1', { capabilities: ['gpu', 'python'], concurrency: 5 });
    await cv.registerExecutor('executor-2', { capabilities: [], concurrency: 5 });
  });
  afterEach(() => cv.close());

  const statuses = async (id: string) => (await cv.getWorkItemReceipts(id)).map((r) => r.status);

  async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
    await expect(p).rejects.toMatchObject({ code });
  }

  describe('enqueue', () => {
    it('creates a queued item with defaults and an enqueued receipt', async () => {
      const item = await cv.enqueueWorkItem({ type: 'email', payload: { to: 'a@b.c' } });
      expect(item).toMatchObject({
        type: 'email',
        payload: { to: 'a@b.c' },
        status: 'queued',
        priority: 0,
        queue: 'default',
        tenant: 'default',
        attempts: 0,
        retries: 0,
        progress: 0,
        output: null,
        error: null,
        executorId: null,
        constraints: { maxRetries: 3, requiredCapabilities: [], dependencies: [], maxDurationMs: null },
      });
      expect(item.runAt).toBe(item.createdAt);
      const receipts = await cv.getWorkItemReceipts(item.id);
      expect(receipts).toHaveLength(1);
      expect(receipts[0]).toMatchObject({
        seq: 1,
        status: 'enqueued',
        previousReceiptHash: null,
        retryCount: 0,
      });
      expect(receipts[0]!.receiptHash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('maps priority names and orders the queue by priority, then run time, then enqueue order', async () => {
      const low = await cv.enqueueWorkItem({ type: 't', priority: 'low' });
      const n1 = await cv.enqueueWorkItem({ type: 't' });
      const crit = await cv.enqueueWorkItem({ type: 't', priority: 'critical' });
      const n2 = await cv.enqueueWorkItem({ type: 't', priority: 'normal' });
      const high = await cv.enqueueWorkItem({ type: 't', priority: 'high' });
      const custom = await cv.enqueueWorkItem({ type: 't', priority: 15 });
      expect([low, n1, crit, high, custom].map((i) => i.priority)).toEqual([-10, 0, 20, 10, 15]);
      expect((await cv.getQueuedItems()).map((i) => i.id)).toEqual([
        crit.id,
        custom.id,
        high.id,
        n1.id,
        n2.id,
        low.id,
      ]);
    });

    it('returns the first item for a repeated idempotency key (per tenant)', async () => {
      const a = await cv.enqueueWorkItem({ type: 't', idempotencyKey: 'order-42', payload: { v: 1 } });
      const b = await cv.enqueueWorkItem({ type: 't', idempotencyKey: 'order-42', payload: { v: 2 } });
      const other = await cv.enqueueWorkItem({ type: 't', idempotencyKey: 'order-42', tenant: 'acme' });
      expect(b.id).toBe(a.id);
      expect(b.payload).toEqual({ v: 1 });
      expect(other.id).not.toBe(a.id);
      expect((await cv.getCounts()).queued).toBe(2);
    });

    it('delays: not assignable before runAt / delayMs', async () => {
      const d = await cv.enqueueWorkItem({ type: 't', delayMs: 5000 });
      const at = await cv.enqueueWorkItem({ type: 't', runAt: new Date(clock.now() + 1000).toISOString() });
      expect(Date.parse(d.runAt) - clock.now()).toBe(5000);
      await expectCode(cv.assignWorkItem(d.id, 'executor-2'), 'NOT_DUE');
      await expectCode(cv.startExecution(at.id, 'executor-2'), 'NOT_DUE');
      clock.advance(1000);
      await cv.startExecution(at.id, 'executor-2');
      await expectCode(cv.assignWorkItem(d.id, 'executor-2'), 'NOT_DUE');
      clock.advance(4000);
      await cv.assignWorkItem(d.id, 'executor-2');
    });

    it('converts maxDuration (bigint nanoseconds) to whole milliseconds, rounding up', async () => {
      const a = await cv.enqueueWorkItem({ type: 't', constraints: { maxDuration: 1_500_000_001n } });
      const b = await cv.enqueueWorkItem({ type: 't', constraints: { maxDurationMs: 250 } });
      expect(a.constraints.maxDurationMs).toBe(1501);
      expect(b.constraints.maxDurationMs).toBe(250);
    });

    it('bulk: all items in one transaction, intra-batch dependencies in any order', async () => {
      const items = await cv.enqueueWorkItems([
        { id: 'child', type: 't', constraints: { dependencies: ['parent'] } },
        { id: 'parent', type: 't' },
        { type: 't', payload: [1, 2, 3] },
      ]);
      expect(items.map((i) => [i.id.length > 0, i.status])).toEqual([
        [true, 'pending'],
        [true, 'queued'],
        [true, 'queued'],
      ]);
      expect(items[0]!.id).toBe('child');
    });

    it('bulk is all or nothing: one bad dependency writes none of the batch', async () => {
      await expectCode(
        cv.enqueueWorkItems([{ type: 't' }, { type: 't', constraints: { dependencies: ['nope'] } }]),
        'NOT_FOUND',
      );
      expect(await cv.getCounts()).toMatchObject({ queued: 0, pending: 0 });
    });

    it('rejects dependency cycles and names them', async () => {
      const err = await cv
        .enqueueWorkItems([
          { id: 'a', type: 't', constraints: { dependencies: ['c'] } },
          { id: 'b', type: 't', constraints: { dependencies: ['a'] } },
          { id: 'c', type: 't', constraints: { dependencies: ['b'] } },
        ])
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'CYCLE' });
      expect((err as Error).message).toMatch(/a → c → b → a|c → b → a → c|b → a → c → b/);
      await expectCode(
        cv.enqueueWorkItem({ id: 'self', type: 't', constraints: { dependencies: ['self'] } }),
        'CYCLE',
      );
      expect((await cv.listWorkItems()).items).toHaveLength(0);
    });

    it('rejects unknown and other-tenant dependencies', async () => {
      const theirs = await cv.enqueueWorkItem({ type: 't', tenant: 'other' });
      await expectCode(
        cv.enqueueWorkItem({ type: 't', constraints: { dependencies: [theirs.id] } }),
        'TENANT_MISMATCH',
      );
      const e = await cv
        .enqueueWorkItem({ type: 't', constraints: { dependencies: ['missing'] } })
        .catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'NOT_FOUND', details: { field: 'constraints.dependencies[0]' } });
    });

    it('rejects a taken id with CONFLICT', async () => {
      await cv.enqueueWorkItem({ id: 'job-1', type: 't' });
      await expectCode(cv.enqueueWorkItem({ id: 'job-1', type: 't' }), 'CONFLICT');
    });
  });

  describe('push-style execution', () => {
    it('assign → start → progress 25/50/75 → complete, one receipt per transition, chain valid', async () => {
      const item = await cv.enqueueWorkItem({
        type: 'train',
        constraints: { requiredCapabilities: ['gpu'] },
      });
      const assigned = await cv.assignWorkItem(item.id, 'executor-1');
      expect(assigned).toMatchObject({ status: 'assigned', executorId: 'executor-1', seq: 2 });
      expect((await cv.getWorkItem(item.id)).status).toBe('assigned');
      await cv.startExecution(item.id, 'executor-1');
      for (const p of [25, 50, 75]) {
        const r = await cv.reportProgress(item.id, 'executor-1', p, `at ${p}`);
        expect(r).toMatchObject({ status: 'progress', progress: p });
      }
      expect((await cv.getExecutingItems()).map((i) => i.id)).toEqual([item.id]);
      const done = await cv.completeWorkItem(item.id, 'executor-1', {
        success: true,
        output: { model: 'm1' },
      });
      expect(done).toMatchObject({ status: 'completed', output: { model: 'm1' }, progress: 100 });
      const after = await cv.getWorkItem(item.id);
      expect(after).toMatchObject({
        status: 'completed',
        attempts: 1,
        output: { model: 'm1' },
        progress: 100,
      });
      expect(after.finishedAt).not.toBeNull();
      expect(await statuses(item.id)).toEqual([
        'enqueued',
        'assigned',
        'started',
        'progress',
        'progress',
        'progress',
        'completed',
      ]);
      const receipts = await cv.getWorkItemReceipts(item.id);
      receipts.forEach((r: Receipt, i) => {
        expect(r.seq).toBe(i + 1);
        expect(r.previousReceiptHash).toBe(i === 0 ? null : receipts[i - 1]!.receiptHash);
      });
      expect(await cv.verifyReceipts(item.id)).toMatchObject({ valid: true, count: 7, firstBrokenSeq: null });
    });

    it('start from queued is the one-step claim', async () => {
      const item = await cv.enqueueWorkItem({ type: 't' });
      const r = await cv.startExecution(item.id, 'executor-2');
      expect(r).toMatchObject({ status: 'started', executorId: 'executor-2' });
      expect(await statuses(item.id)).toEqual(['enqueued', 'started']);
    });

    it('CAPABILITY_MISMATCH when the executor lacks a required capability; nothing changes', async () => {
      const item = await cv.enqueueWorkItem({ type: 't', constraints: { requiredCapabilities: ['gpu'] } });
      const e = await cv.assignWorkItem(item.id, 'executor-2').catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'CAPABILITY_MISMATCH', details: { missing: ['gpu'] } });
      await expectCode(cv.startExecution(item.id, 'executor-2'), 'CAPABILITY_MISMATCH');
      expect((await cv.getWorkItem(item.id)).status).toBe('queued');
      expect(await statuses(item.id)).toEqual(['enqueued']);
    });

    it('EXECUTOR_BUSY when the executor is marked busy or full; NOT_FOUND for an unknown executor', async () => {
      await cv.registerExecutor('tiny', { concurrency: 1 });
      await cv.registerExecutor('busy', { busy: true });
      const [a, b] = await cv.enqueueWorkItems([{ type: 't' }, { type: 't' }]);
      await cv.assignWorkItem(a!.id, 'tiny');
      await expectCode(cv.assignWorkItem(b!.id, 'tiny'), 'EXECUTOR_BUSY');
      await expectCode(cv.assignWorkItem(b!.id, 'busy'), 'EXECUTOR_BUSY');
      await expectCode(cv.assignWorkItem(b!.id, 'ghost'), 'NOT_FOUND');
    });

    it('illegal transitions are INVALID_TRANSITION and change nothing', async () => {
      const item = await cv.enqueueWorkItem({ type: 't' });
      await expectCode(cv.completeWorkItem(item.id, 'executor-2', { output: 1 }), 'LEASE_LOST');
      await cv.assignWorkItem(item.id, 'executor-2');
      await expectCode(cv.assignWorkItem(item.id, 'executor-2'), 'INVALID_TRANSITION');
      await expectCode(cv.completeWorkItem(item.id, 'executor-2', { output: 1 }), 'INVALID_TRANSITION');
      await expectCode(cv.reportProgress(item.id, 'executor-2', 10), 'INVALID_TRANSITION');
      await cv.startExecution(item.id, 'executor-2');
      await cv.completeWorkItem(item.id, 'executor-2', { output: 1 });
      await expectCode(cv.startExecution(item.id, 'executor-2'), 'INVALID_TRANSITION');
      await expectCode(cv.cancelWorkItem(item.id, null, { reason: 'late' }), 'INVALID_TRANSITION');
      await expectCode(cv.failWorkItem(item.id, 'executor-2', { error: 'x' }), 'INVALID_TRANSITION');
      expect(await statuses(item.id)).toEqual(['enqueued', 'assigned', 'started', 'completed']);
      await expectCode(cv.getWorkItem('nope'), 'NOT_FOUND');
      await expectCode(cv.startExecution('nope', 'executor-2'), 'NOT_FOUND');
    });

    it('another executor cannot report on an item it does not hold (LEASE_LOST)', async () => {
      const item = await cv.enqueueWorkItem({ type: 't' });
      await cv.startExecution(item.id, 'executor-1');
      await expectCode(cv.reportProgress(item.id, 'executor-2', 50), 'LEASE_LOST');
      await expectCode(cv.completeWorkItem(item.id, 'executor-2', { output: 'x' }), 'LEASE_LOST');
      await expectCode(cv.failWorkItem(item.id, 'executor-2', { error: 'x' }), 'LEASE_LOST');
    });
  });

  describe('retries and backoff (manual clock, no sleeps)', () => {
    it('exponential backoff schedules each retry, then fails for good with the error kept', async () => {
      const item = await cv.enqueueWorkItem({
        type: 't',
        constraints: {
          maxRetries: 2,
          backoff: { type: 'exponential', baseMs: 1000, maxMs: 60_000, jitter: 0 },
        },
      });
      const runAts: number[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        await cv.startExecution(item.id, 'executor-2');
        const r = await cv.failWorkItem(item.id, 'executor-2', {
          error: { message: `boom ${attempt}`, code: 'E_BOOM' },
        });
        const now = await cv.getWorkItem(item.id);
        if (attempt < 3) {
          expect(r).toMatchObject({ status: 'retried', retryCount: attempt, error: { code: 'E_BOOM' } });
          expect(now.status).toBe('queued');
          const delay = Date.parse(now.runAt) - clock.now();
          runAts.push(delay);
          await expectCode(cv.startExecution(item.id, 'executor-2'), 'NOT_DUE');
          clock.advance(delay - 1);
          await expectCode(cv.startExecution(item.id, 'executor-2'), 'NOT_DUE');
          clock.advance(1);
        } else {
          expect(r).toMatchObject({ status: 'failed', retryCount: 2 });
          expect(now).toMatchObject({
            status: 'failed',
            attempts: 3,
            retries: 2,
            error: { message: 'boom 3', code: 'E_BOOM' },
          });
        }
      }
      expect(runAts).toEqual([1000, 2000]);
    });

    it('linear and fixed backoff, jitter from the injected random source', async () => {
      const lin = await cv.enqueueWorkItem({
        type: 't',
        constraints: { backoff: { type: 'linear', baseMs: 300, jitter: 0 } },
      });
      const fix = await cv.enqueueWorkItem({
        type: 't',
        constraints: { backoff: { type: 'fixed', baseMs: 700, jitter: 0.5 } },
      });
      const delays: number[] = [];
      for (const id of [lin.id, lin.id, fix.id]) {
        await cv.startExecution(id, 'executor-2');
        await cv.failWorkItem(id, 'executor-2', { error: 'x' });
        delays.push(Date.parse((await cv.getWorkItem(id)).runAt) - clock.now());
        clock.advance(10_000);
      }
      // random() = 0.5 and jitter 0.5: 700 · (1 − 0.5 + 0.25) = 525
      expect(delays).toEqual([300, 600, 525]);
    });

    it('retryable: false is final at once; retryAfterMs overrides backoff', async () => {
      const a = await cv.enqueueWorkItem({ type: 't' });
      await cv.startExecution(a.id, 'executor-2');
      expect(
        await cv.failWorkItem(a.id, 'executor-2', { error: 'bad input', retryable: false }),
      ).toMatchObject({
        status: 'failed',
        retryCount: 0,
      });
      const b = await cv.enqueueWorkItem({ type: 't' });
      await cv.startExecution(b.id, 'executor-2');
      await cv.failWorkItem(b.id, 'executor-2', { error: 'rate limited', retryAfterMs: 42_000 });
      expect(Date.parse((await cv.getWorkItem(b.id)).runAt) - clock.now()).toBe(42_000);
    });

    it('completeWorkItem with success: false is a retryable failure', async () => {
      const a = await cv.enqueueWorkItem({ type: 't' });
      await cv.startExecution(a.id, 'executor-2');
      expect(await cv.completeWorkItem(a.id, 'executor-2', { success: false, error: 'nope' })).toMatchObject({
        status: 'retried',
      });
    });
  });

  describe('dependencies', () => {
    it('a dependent waits pending, then is queued when all its parents complete', async () => {
      const [p1, p2] = await cv.enqueueWorkItems([{ type: 't' }, { type: 't' }]);
      const child = await cv.enqueueWorkItem({ type: 't', constraints: { dependencies: [p1!.id, p2!.id] } });
      expect(child.status).toBe('pending');
      await expectCode(cv.startExecution(child.id, 'executor-2'), 'INVALID_TRANSITION');
      await expectCode(cv.assignWorkItem(child.id, 'executor-2'), 'INVALID_TRANSITION');
      for (const p of [p1!, p2!]) {
        await cv.startExecution(p.id, 'executor-2');
        await cv.completeWorkItem(p.id, 'executor-2', { output: null });
      }
      expect((await cv.getWorkItem(child.id)).status).toBe('queued');
      expect(await statuses(child.id)).toEqual(['enqueued', 'queued']);
    });

    it('parents settled in one transaction count a shared child down once, by all of them', async () => {
      const [p1, p2, p3, p4, q] = await cv.enqueueWorkItems(Array.from({ length: 5 }, () => ({ type: 't' })));
      const dep = (...ids: string[]) => ({ type: 't', constraints: { dependencies: ids } });
      const [all, half, doomed] = await cv.enqueueWorkItems([
        dep(p1!.id, p2!.id, p3!.id),
        dep(p1!.id, q!.id),
        dep(p2!.id, p4!.id),
      ]);
      const engine = engineOf(cv);
      const entries = [];
      for (const p of [p1!, p2!, p3!, p4!]) {
        await cv.startExecution(p.id, 'executor-2');
        const token = (await engine.store.getItem(p.id))!.leaseToken;
        entries.push({ itemId: p.id, token });
      }
      const [e1, e2, e3, e4] = entries;
      const { results } = await engine.settleMany(
        [
          { kind: 'complete', ...e1!, output: 1 },
          { kind: 'complete', ...e2!, output: 2 },
          { kind: 'complete', ...e3!, output: 3 },
          { kind: 'fail', ...e4!, error: { code: 'E', message: 'no' }, retryable: false },
        ],
        'executor-2',
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(await statuses(all!.id)).toEqual(['enqueued', 'queued']);
      expect((await engine.store.getItem(all!.id))!.unfinishedDeps).toBe(0);
      expect(await engine.store.getItem(half!.id)).toMatchObject({ status: 'pending', unfinishedDeps: 1 });
      // Its other parent failed in the same transaction: skipped, not queued by the count-down.
      expect(await statuses(doomed!.id)).toEqual(['enqueued', 'skipped']);
    });

    it('completions settled from the records their holder knows: one changed since is refused, a parent still counts its dependent down', async () => {
      const [a, b, c, d] = await cv.enqueueWorkItems(Array.from({ length: 4 }, () => ({ type: 't' })));
      const child = await cv.enqueueWorkItem({ type: 't', constraints: { dependencies: [c!.id] } });
      const engine = engineOf(cv);
      const entries = [];
      for (const item of [a!, b!, c!, d!]) {
        await cv.startExecution(item.id, 'executor-2');
        const held = (await engine.store.getItem(item.id))!;
        entries.push({
          kind: 'complete' as const,
          itemId: item.id,
          token: held.leaseToken,
          output: item.id,
          held,
        });
      }
      // b is cancelled after its holder read it: the record it holds is stale.
      await cv.cancelWorkItem(b!.id);
      const { results } = await engine.settleMany(entries, 'executor-2');
      expect(results.map((r) => r.ok)).toEqual([true, false, true, true]);
      expect(results[1]!.ok ? null : results[1]!.error).toMatchObject({ code: 'LEASE_LOST' });
      for (const item of [a!, c!, d!]) {
        expect(await cv.getWorkItem(item.id)).toMatchObject({ status: 'completed', output: item.id });
        expect((await cv.verifyReceipts(item.id)).valid).toBe(true);
      }
      expect(await statuses(b!.id)).toEqual(['enqueued', 'started', 'cancelled']);
      expect(await statuses(child.id)).toEqual(['enqueued', 'queued']);
      expect((await cv.checkEventLog()).mismatches).toEqual([]);
    });

    it('the store counts a dependent down by as many parents as completed', async () => {
      const parents = await cv.enqueueWorkItems(Array.from({ length: 3 }, () => ({ type: 't' })));
      const child = await cv.enqueueWorkItem({
        type: 't',
        constraints: { dependencies: parents.map((p) => p.id) },
      });
      const store = engineOf(cv).store;
      const counted = await store.write(async (tx) => {
        await tx.lockItems([child.id]);
        return tx.countDownDependencies(new Map([[child.id, 2]]));
      });
      // The item as it is after the count-down, whole (the engine queues from it).
      const stored = await store.getItem(child.id);
      expect(stored!.unfinishedDeps).toBe(1);
      expect([...counted.keys()]).toEqual([child.id]);
      expect(counted.get(child.id)).toEqual(stored);
    });

    it('a failed parent skips its dependents, cascading; a cancelled one too', async () => {
      const parent = await cv.enqueueWorkItem({ type: 't' });
      const child = await cv.enqueueWorkItem({ type: 't', constraints: { dependencies: [parent.id] } });
      const grandchild = await cv.enqueueWorkItem({ type: 't', constraints: { dependencies: [child.id] } });
      await cv.startExecution(parent.id, 'executor-2');
      await cv.failWorkItem(parent.id, 'executor-2', { error: 'x', retryable: false });
      for (const id of [child.id, grandchild.id]) {
        const i = await cv.getWorkItem(id);
        expect(i.status).toBe('skipped');
        expect(i.error?.code).toBe('DEPENDENCY_FAILED');
        expect(await statuses(id)).toEqual(['enqueued', 'skipped']);
      }
      const p2 = await cv.enqueueWorkItem({ type: 't' });
      const c2 = await cv.enqueueWorkItem({ type: 't', constraints: { dependencies: [p2.id] } });
      await cv.cancelWorkItem(p2.id, null, { reason: 'not needed' });
      expect((await cv.getWorkItem(c2.id)).status).toBe('skipped');
      // enqueueing onto an already-failed parent skips at once
      const late = await cv.enqueueWorkItem({ type: 't', constraints: { dependencies: [parent.id] } });
      expect(late.status).toBe('skipped');
      // ...and onto a completed parent is queued at once
      const ok = await cv.enqueueWorkItem({ type: 't' });
      await cv.startExecution(ok.id, 'executor-2');
      await cv.completeWorkItem(ok.id, 'executor-2', {});
      expect((await cv.enqueueWorkItem({ type: 't', constraints: { dependencies: [ok.id] } })).status).toBe(
        'queued',
      );
    });
  });

  describe('cancel', () => {
    it('cancels pending, queued, assigned and running items with the reason kept', async () => {
      const items = await cv.enqueueWorkItems([{ type: 't' }, { type: 't' }, { type: 't' }]);
      const pending = await cv.enqueueWorkItem({ type: 't', constraints: { dependencies: [items[0]!.id] } });
      await cv.assignWorkItem(items[1]!.id, 'executor-2');
      await cv.startExecution(items[2]!.id, 'executor-2');
      for (const id of [pending.id, items[0]!.id, items[1]!.id, items[2]!.id]) {
        const r = await cv.cancelWorkItem(id, null, { reason: 'user asked' });
        expect(r).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED', message: 'user asked' } });
        expect((await cv.getWorkItem(id)).status).toBe('cancelled');
      }
      expect(await cv.getCounts()).toMatchObject({ cancelled: 4, queued: 0, running: 0 });
    });
  });

  describe('budgets', () => {
    it('usage on completion within the budget completes; over it fails with BUDGET_EXCEEDED, not retried', async () => {
      const a = await cv.enqueueWorkItem({ type: 't', budget: { maxToolOps: 10 } });
      await cv.startExecution(a.id, 'executor-2');
      await cv.completeWorkItem(a.id, 'executor-2', { output: 1, usage: { maxToolOps: 10 } });
      expect(await cv.getWorkItem(a.id)).toMatchObject({ status: 'completed', usage: { maxToolOps: 10 } });
      const b = await cv.enqueueWorkItem({ type: 't', budget: { maxToolOps: 10 } });
      await cv.startExecution(b.id, 'executor-2');
      const r = await cv.completeWorkItem(b.id, 'executor-2', { output: 1, usage: { maxToolOps: 11 } });
      expect(r).toMatchObject({ status: 'failed', error: { code: 'BUDGET_EXCEEDED' } });
      expect(await cv.getWorkItem(b.id)).toMatchObject({
        status: 'failed',
        retries: 0,
        usage: { maxToolOps: 11 },
      });
    });
  });

  describe('leases', () => {
    it('an expired lease counts as an attempt and the item is retried at once; a late completion is refused', async () => {
      const item = await cv.enqueueWorkItem({ type: 't' });
      await cv.startExecution(item.id, 'executor-1');
      clock.advance(29_999);
      expect(await cv.reapExpiredLeases()).toBe(0);
      clock.advance(2);
      expect(await cv.reapExpiredLeases()).toBe(1);
      const now = await cv.getWorkItem(item.id);
      expect(now).toMatchObject({
        status: 'queued',
        attempts: 1,
        retries: 1,
        executorId: null,
        error: { code: 'LEASE_EXPIRED' },
      });
      expect(await statuses(item.id)).toEqual(['enqueued', 'started', 'lease_expired']);
      await cv.startExecution(item.id, 'executor-2');
      await expectCode(cv.completeWorkItem(item.id, 'executor-1', { output: 'stale' }), 'LEASE_LOST');
      await cv.completeWorkItem(item.id, 'executor-2', { output: 'fresh' });
      expect(await cv.getWorkItem(item.id)).toMatchObject({
        status: 'completed',
        attempts: 2,
        output: 'fresh',
      });
    });

    it('an item whose lease expired keeps its place in the queue: claimed before those queued after it', async () => {
      const [first] = await cv.enqueueWorkItems([{ type: 't' }, { type: 't' }]);
      const [claimed] = await cv.claimWorkItems('executor-1', { limit: 1 });
      expect(claimed!.id).toBe(first!.id);
      clock.advance(1000);
      await cv.enqueueWorkItems([{ type: 't' }, { type: 't' }]);
      clock.advance(30_000);
      expect(await cv.reapExpiredLeases()).toBe(1);
      expect((await cv.getWorkItem(first!.id)).runAt).toBe(first!.runAt);
      const [next] = await cv.claimWorkItems('executor-2', { limit: 1 });
      expect(next!.id).toBe(first!.id);
    });

    it('a former holder reporting on an item finished by someone else gets LEASE_LOST', async () => {
      const item = await cv.enqueueWorkItem({ type: 't' });
      await cv.startExecution(item.id, 'executor-1');
      clock.advance(31_000);
      await cv.reapExpiredLeases();
      await cv.startExecution(item.id, 'executor-2');
      await cv.completeWorkItem(item.id, 'executor-2', { output: 'done' });
      await expectCode(cv.completeWorkItem(item.id, 'executor-1', { output: 'late' }), 'LEASE_LOST');
      // the holder itself completing twice is an illegal transition
      await expectCode(cv.completeWorkItem(item.id, 'executor-2', { output: 'again' }), 'INVALID_TRANSITION');
    });

    it('push executors read leaseToken from the item and fence with it', async () => {
      const item = await cv.enqueueWorkItem({ type: 't' });
      expect(item.leaseToken).toBeNull();
      await cv.assignWorkItem(item.id, 'executor-2');
      const token = (await cv.getWorkItem(item.id)).leaseToken;
      expect(token).toBe(1);
      await cv.startExecution(item.id, 'executor-2');
      await expectCode(
        cv.failWorkItem(item.id, 'executor-2', { error: 'x', leaseToken: token! + 1 }),
        'LEASE_LOST',
      );
      await cv.completeWorkItem(item.id, 'executor-2', { output: 1, leaseToken: token! });
      expect((await cv.getWorkItem(item.id)).leaseToken).toBeNull();
    });

    it('the lease token fences off the same executor id after a re-claim', async () => {
      const item = await cv.enqueueWorkItem({ type: 't' });
      await cv.startExecution(item.id, 'executor-2');
      clock.advance(31_000);
      await cv.reapExpiredLeases();
      await cv.startExecution(item.id, 'executor-2'); // same id, new lease
      await expectCode(
        cv.completeWorkItem(item.id, 'executor-2', { output: 'old', leaseToken: 1 }),
        'LEASE_LOST',
      );
      await cv.completeWorkItem(item.id, 'executor-2', { output: 'new', leaseToken: 2 });
      expect((await cv.getWorkItem(item.id)).output).toBe('new');
    });

    it('an assigned item whose lease expires spends an attempt; retries exhausted → failed', async () => {
      const item = await cv.enqueueWorkItem({ type: 't', constraints: { maxRetries: 0 } });
      await cv.assignWorkItem(item.id, 'executor-2');
      clock.advance(30_001);
      await cv.reapExpiredLeases();
      expect(await cv.getWorkItem(item.id)).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { code: 'LEASE_EXPIRED' },
      });
      expect(await statuses(item.id)).toEqual(['enqueued', 'assigned', 'lease_expired']);
    });

    it('heartbeat and progress renew the lease', async () => {
      const item = await cv.enqueueWorkItem({ type: 't' });
      await cv.startExecution(item.id, 'executor-2');
      clock.advance(20_000);
      await cv.heartbeat(item.id, 'executor-2');
      clock.advance(20_000);
      await cv.reportProgress(item.id, 'executor-2', 10);
      clock.advance(20_000);
      expect(await cv.reapExpiredLeases()).toBe(0);
      await expectCode(cv.heartbeat(item.id, 'executor-1'), 'LEASE_LOST');
    });

    it('a running item past maxDurationMs is failed with TIMEOUT by the reaper and retried', async () => {
      const item = await cv.enqueueWorkItem({
        type: 't',
        constraints: { maxDurationMs: 5000, backoff: { jitter: 0 } },
      });
      await cv.startExecution(item.id, 'executor-2');
      await cv.heartbeat(item.id, 'executor-2');
      clock.advance(5001);
      await cv.reapExpiredLeases();
      expect(await cv.getWorkItem(item.id)).toMatchObject({
        status: 'queued',
        retries: 1,
        error: { code: 'TIMEOUT' },
      });
    });
  });

  describe('reads', () => {
    it('listWorkItems pages newest first with a cursor; filters by status and type', async () => {
      const items = await cv.enqueueWorkItems(
        Array.from({ length: 25 }, (_, i) => ({ type: i % 2 ? 'odd' : 'even' })),
      );
      const p1 = await cv.listWorkItems({ limit: 10 });
      const p2 = await cv.listWorkItems({ limit: 10, cursor: p1.nextCursor! });
      const p3 = await cv.listWorkItems({ limit: 10, cursor: p2.nextCursor! });
      expect([...p1.items, ...p2.items, ...p3.items].map((i) => i.id)).toEqual(
        items.map((i) => i.id).reverse(),
      );
      expect(p3.nextCursor).toBeNull();
      expect((await cv.listWorkItems({ type: 'odd', limit: 100 })).items).toHaveLength(12);
      expect((await cv.listWorkItems({ status: ['queued'], limit: 100 })).items).toHaveLength(25);
      expect(await cv.getCounts({ type: 'even' })).toMatchObject({ queued: 13, completed: 0 });
    });

    it('registerExecutor and listExecutors', async () => {
      const e = await cv.registerExecutor('executor-3', { capabilities: ['a', 'a', 'b'], concurrency: 2 });
      expect(e).toMatchObject({ id: 'executor-3', capabilities: ['a', 'b'], concurrency: 2, busy: false });
      expect((await cv.listExecutors()).map((x) => x.id)).toEqual(['executor-1', 'executor-2', 'executor-3']);
    });
  });

  describe('store failures', () => {
    it('a database error reaches the caller as a STORE error with its cause, and nothing half-written', async () => {
      // Make every receipt insert fail inside the transaction, after the item row was written.
      for (const sql of b.refuseReceiptsSql('disk says no')) await b.exec(cv, sql);
      const e = await cv.enqueueWorkItem({ type: 't' }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'STORE', name: 'ConveyorError' });
      expect((e as Error).message).toMatch(/disk says no/);
      expect((e as Error).cause).toBeInstanceOf(Error);
      expect((await cv.listWorkItems()).items).toHaveLength(0);
    });
  });
}
