/**
 * The pull worker on a real SQLite file: type registry, capabilities, priority order,
 * concurrency, signals (timeout, cancel, shutdown), ctx.progress/log/consume, handler
 * errors, event-driven wake-ups and graceful stop.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NonRetryableError, RetryAfterError, type Conveyor } from '../../src/index.js';
import { waitFor } from '../helpers/conveyors.js';
import type { TestBackend } from '../helpers/backends.js';

export function workerSuite(b: TestBackend): void {
  let cv: Conveyor;
  beforeEach(async () => {
    cv = await b.open();
  });
  afterEach(() => cv.close());

  const statusOf = async (id: string) => (await cv.getWorkItem(id)).status;
  const receiptStatuses = async (id: string) => (await cv.getWorkItemReceipts(id)).map((r) => r.status);
  /** Resolves when the signal aborts, with its reason. */
  const aborted = (signal: AbortSignal) =>
    new Promise<unknown>((resolve) =>
      signal.addEventListener('abort', () => resolve(signal.reason), { once: true }),
    );

  describe('worker', () => {
    it('runs items of its types only, returns outputs, never exceeds its concurrency', async () => {
      let inFlight = 0;
      let maxInFlight = 0;
      const items = await cv.enqueueWorkItems([
        ...Array.from({ length: 30 }, (_, i) => ({ type: 'square', payload: { n: i } })),
        { type: 'other' },
      ]);
      const w = cv.worker({
        concurrency: 4,
        handlers: {
          square: async (p: { n: number }) => {
            maxInFlight = Math.max(maxInFlight, ++inFlight);
            await new Promise((r) => setTimeout(r, 2));
            inFlight--;
            return p.n * p.n;
          },
        },
      });
      await w.start();
      await waitFor(async () => (await cv.getCounts()).completed === 30, '30 completions');
      await w.stop();
      expect(maxInFlight).toBe(4);
      expect((await cv.getWorkItem(items[7]!.id)).output).toBe(49);
      expect(await statusOf(items[30]!.id)).toBe('queued');
    });

    it('takes items in priority order', async () => {
      const order: string[] = [];
      await cv.enqueueWorkItems([
        { type: 't', payload: 'low', priority: 'low' },
        { type: 't', payload: 'normal' },
        { type: 't', payload: 'critical', priority: 'critical' },
        { type: 't', payload: 'high', priority: 'high' },
      ]);
      const w = cv.worker({ concurrency: 1, handlers: { t: (p: string) => void order.push(p) } });
      await w.start();
      await waitFor(() => order.length === 4, 'four items');
      await w.stop();
      expect(order).toEqual(['critical', 'high', 'normal', 'low']);
    });

    it('claims only items whose required capabilities it has', async () => {
      const gpu = await cv.enqueueWorkItem({ type: 't', constraints: { requiredCapabilities: ['gpu'] } });
      const any = await cv.enqueueWorkItem({ type: 't' });
      const plain = cv.worker({ id: 'plain', handlers: { t: () => 'plain' } });
      await plain.start();
      await waitFor(async () => (await statusOf(any.id)) === 'completed', 'the plain item');
      expect(await statusOf(gpu.id)).toBe('queued');
      const withGpu = cv.worker({
        id: 'gpu-box',
        capabilities: ['gpu', 'cuda'],
        handlers: { t: () => 'gpu' },
      });
      await withGpu.start();
      await waitFor(async () => (await statusOf(gpu.id)) === 'completed', 'the gpu item');
      expect((await cv.getWorkItem(gpu.id)).executorId).toBe('gpu-box');
      await Promise.all([plain.stop(), withGpu.stop()]);
      expect((await cv.listExecutors()).find((e) => e.id === 'gpu-box')?.capabilities).toEqual([
        'gpu',
        'cuda',
      ]);
    });

    it('wakes on an in-process enqueue without polling, and on a delayed item when it is due', async () => {
      const started: string[] = [];
      const w = cv.worker({ pollIntervalMs: 60_000, handlers: { t: (p: string) => void started.push(p) } });
      await w.start();
      await cv.enqueueWorkItem({ type: 't', payload: 'now' });
      await waitFor(() => started.includes('now'), 'the immediate item', 2000);
      await cv.enqueueWorkItem({ type: 't', payload: 'later', delayMs: 150 });
      await waitFor(() => started.includes('later'), 'the delayed item', 3000);
      await w.stop();
    });

    it('runs a chain with one claim per link: the batch that queues the next link claims it, and no one looks again', async () => {
      const claims = () => (cv as unknown as { engine: { stats: { claims: number } } }).engine.stats.claims;
      const first = await cv.enqueueWorkItem({ type: 'link', payload: 0 });
      let previous = first.id;
      const ids = [first.id];
      for (let i = 1; i < 20; i++) {
        previous = (
          await cv.enqueueWorkItem({ type: 'link', payload: i, constraints: { dependencies: [previous] } })
        ).id;
        ids.push(previous);
      }
      const ran: number[] = [];
      const w = cv.worker({
        concurrency: 5,
        pollIntervalMs: 60_000,
        handlers: { link: (n: number) => void ran.push(n) },
      });
      const before = claims();
      await w.start();
      await waitFor(async () => (await statusOf(previous)) === 'completed', 'the last link');
      const used = claims() - before;
      await w.stop();
      expect(ran).toEqual(Array.from({ length: 20 }, (_, i) => i));
      // The first look at start, then one per result batch, each of which claimed the link
      // its result queued. (Before, each commit also woke the worker for the link it had
      // just claimed itself: two looks per link.) A few spare for a wake-up registration.
      expect(used).toBeLessThanOrEqual(ids.length + 4);
    });

    it('ctx.progress writes receipts, ctx.log persists lines, ctx.item and attempt are set', async () => {
      const item = await cv.enqueueWorkItem({ type: 't', payload: { x: 1 } });
      const w = cv.worker({
        handlers: {
          t: async (_p, ctx) => {
            expect(ctx.item.id).toBe(item.id);
            expect(ctx.attempt).toBe(1);
            for (const pct of [25, 50, 75]) await ctx.progress(pct, `step ${pct}`);
            await ctx.log('hello from the handler');
            await expect(ctx.progress(150)).rejects.toMatchObject({ code: 'VALIDATION', field: 'percent' });
            return 'ok';
          },
        },
      });
      await w.start();
      await waitFor(async () => (await statusOf(item.id)) === 'completed', 'completion');
      await w.stop();
      expect(await receiptStatuses(item.id)).toEqual([
        'enqueued',
        'started',
        'progress',
        'progress',
        'progress',
        'completed',
      ]);
      const logs = await cv.getWorkItemLogs(item.id);
      expect(logs).toMatchObject([{ itemId: item.id, attempt: 1, message: 'hello from the handler' }]);
    });

    it('ctx.consume over the budget fails the item for good and aborts the signal', async () => {
      const item = await cv.enqueueWorkItem({ type: 't', budget: { toolOps: 2 } });
      let reason: unknown;
      const w = cv.worker({
        handlers: {
          t: async (_p, ctx) => {
            await ctx.consume('toolOps');
            await ctx.consume('toolOps');
            const abortedP = aborted(ctx.signal);
            await expect(ctx.consume('toolOps')).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
            reason = await abortedP;
            return 'should not be recorded';
          },
        },
      });
      await w.start();
      await waitFor(async () => (await statusOf(item.id)) === 'failed', 'the budget failure');
      await w.stop();
      expect(reason).toMatchObject({ code: 'BUDGET_EXCEEDED' });
      expect(await cv.getWorkItem(item.id)).toMatchObject({
        status: 'failed',
        retries: 0,
        usage: { toolOps: 3 },
        output: null,
        error: { code: 'BUDGET_EXCEEDED' },
      });
    });

    it('handler errors: NonRetryableError fails at once, RetryAfterError sets the delay, others retry with backoff', async () => {
      const [a, b, c, d] = await cv.enqueueWorkItems([
        { type: 'fatal' },
        { type: 'later' },
        { type: 'flaky', constraints: { maxRetries: 2, backoff: { type: 'fixed', baseMs: 10, jitter: 0 } } },
        { type: 'weird' },
      ]);
      let flakyRuns = 0;
      const w = cv.worker({
        concurrency: 4,
        handlers: {
          fatal: () => {
            throw new NonRetryableError('bad payload');
          },
          later: () => {
            throw new RetryAfterError('come back later', 3_600_000);
          },
          flaky: () => {
            if (++flakyRuns < 3) throw new Error(`flake ${flakyRuns}`);
            return { ok: flakyRuns };
          },
          weird: () => ({ notJson: () => 1 }),
        },
      });
      await w.start();
      await waitFor(async () => (await statusOf(c!.id)) === 'completed', 'the flaky item to succeed');
      await waitFor(async () => (await statusOf(a!.id)) === 'failed', 'the fatal item');
      await waitFor(async () => (await statusOf(d!.id)) === 'failed', 'the non-JSON output');
      await w.stop();
      expect(await cv.getWorkItem(a!.id)).toMatchObject({
        retries: 0,
        error: { code: 'NON_RETRYABLE', message: 'bad payload' },
      });
      const later = await cv.getWorkItem(b!.id);
      expect(later).toMatchObject({ status: 'queued', retries: 1, error: { code: 'RETRY_AFTER' } });
      expect(Date.parse(later.runAt) - Date.now()).toBeGreaterThan(3_500_000);
      expect(await cv.getWorkItem(c!.id)).toMatchObject({ attempts: 3, retries: 2, output: { ok: 3 } });
      expect(await receiptStatuses(c!.id)).toEqual([
        'enqueued',
        'started',
        'retried',
        'started',
        'retried',
        'started',
        'completed',
      ]);
      expect(await cv.getWorkItem(d!.id)).toMatchObject({ error: { code: 'VALIDATION' }, retries: 0 });
    });

    it('a RetryAfterError with a delay that is not a finite number falls back to backoff; other results in its batch are kept', async () => {
      const [bad, good] = await cv.enqueueWorkItems([
        { type: 'bad', constraints: { backoff: { type: 'fixed', baseMs: 60_000, jitter: 0 } } },
        { type: 'good' },
      ]);
      const w = cv.worker({
        concurrency: 2,
        handlers: {
          bad: () => {
            throw new RetryAfterError('x', NaN);
          },
          good: () => 'ok',
        },
      });
      await w.start();
      await waitFor(async () => (await statusOf(good!.id)) === 'completed', 'the good item');
      await waitFor(async () => (await statusOf(bad!.id)) === 'queued', 'the bad item to be retried');
      await w.stop();
      const retried = await cv.getWorkItem(bad!.id);
      expect(Date.parse(retried.runAt) - Date.parse(retried.createdAt)).toBeGreaterThanOrEqual(59_000);
    });

    it('aborts ctx.signal on timeout (maxDurationMs) and records TIMEOUT', async () => {
      const item = await cv.enqueueWorkItem({
        type: 'slow',
        constraints: { maxDurationMs: 50, maxRetries: 0 },
      });
      let reason: unknown;
      const w = cv.worker({
        handlers: {
          slow: async (_p, ctx) => {
            reason = await aborted(ctx.signal);
            return 'too late';
          },
        },
      });
      await w.start();
      await waitFor(async () => (await statusOf(item.id)) === 'failed', 'the timeout');
      await w.stop();
      expect(reason).toMatchObject({ code: 'TIMEOUT' });
      expect(await cv.getWorkItem(item.id)).toMatchObject({ output: null, error: { code: 'TIMEOUT' } });
    });

    it('aborts ctx.signal when the running item is cancelled; its late result is ignored', async () => {
      const item = await cv.enqueueWorkItem({ type: 'long' });
      let reason: unknown;
      let running!: () => void;
      const isRunning = new Promise<void>((r) => (running = r));
      const w = cv.worker({
        handlers: {
          long: async (_p, ctx) => {
            running();
            reason = await aborted(ctx.signal);
            return 'finished anyway';
          },
        },
      });
      await w.start();
      await isRunning;
      await cv.cancelWorkItem(item.id, null, { reason: 'user abort' });
      await waitFor(() => reason !== undefined, 'the abort');
      await w.stop();
      expect(reason).toMatchObject({ code: 'CANCELLED' });
      expect(await cv.getWorkItem(item.id)).toMatchObject({ status: 'cancelled', output: null });
      expect(await receiptStatuses(item.id)).toEqual(['enqueued', 'started', 'cancelled']);
    });

    it('stop() drains in-flight work, then releases what does not finish in time', async () => {
      const [quick, stuck] = await cv.enqueueWorkItems([{ type: 'quick' }, { type: 'stuck' }]);
      let stuckReason: unknown;
      let started = 0;
      const w = cv.worker({
        concurrency: 2,
        shutdownTimeoutMs: 200,
        handlers: {
          quick: async () => {
            started++;
            await new Promise((r) => setTimeout(r, 50));
            return 'done';
          },
          stuck: async (_p, ctx) => {
            started++;
            stuckReason = await aborted(ctx.signal);
            await new Promise((r) => setTimeout(r, 10_000)); // ignores the abort
          },
        },
      });
      await w.start();
      await waitFor(() => started === 2, 'both running');
      await w.stop();
      expect(await statusOf(quick!.id)).toBe('completed');
      expect(stuckReason).toMatchObject({ code: 'SHUTDOWN' });
      expect(await cv.getWorkItem(stuck!.id)).toMatchObject({
        status: 'queued',
        retries: 0,
        executorId: null,
        // Handed back in its old place in the queue.
        runAt: stuck!.runAt,
      });
      expect(await receiptStatuses(stuck!.id)).toEqual(['enqueued', 'started', 'released']);
      // stop is idempotent and a stopped worker claims nothing more
      await w.stop();
      expect(w.running).toBe(0);
    });

    it('returns items whose holder went silent (reaper) and completes them', async () => {
      await cv.close();
      cv = await b.open({ leaseMs: 100 });
      await cv.registerExecutor('ghost');
      const item = await cv.enqueueWorkItem({ type: 't' });
      await cv.startExecution(item.id, 'ghost'); // a push executor that then disappears
      const w = cv.worker({ handlers: { t: () => 'rescued' } });
      await w.start();
      await waitFor(async () => (await statusOf(item.id)) === 'completed', 'the rescue');
      await w.stop();
      expect(await receiptStatuses(item.id)).toEqual([
        'enqueued',
        'started',
        'lease_expired',
        'started',
        'completed',
      ]);
      expect(await cv.getWorkItem(item.id)).toMatchObject({ attempts: 2, output: 'rescued' });
    });

    it('close() stops running workers first', async () => {
      await cv.enqueueWorkItems(Array.from({ length: 5 }, () => ({ type: 't' })));
      const w = cv.worker({ concurrency: 2, handlers: { t: () => new Promise((r) => setTimeout(r, 20)) } });
      await w.start();
      await cv.close();
      expect(w.running).toBe(0);
      cv = await b.open();
    });
  });
}
