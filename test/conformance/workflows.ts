/**
 * Workflows on a real store, the same on every backend: templates and dependencies,
 * phases, the failure policies, cancel, parallel map, retries, timeouts with fallbacks,
 * rate limits, circuit breakers, batches, the step cache, external events, replay of the
 * log, bad input, and a 1,000-step DAG.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NonRetryableError, type Conveyor, type Worker } from '../../src/index.js';
import type { TestBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/conveyors.js';

type Handlers = Parameters<Conveyor['worker']>[0]['handlers'];

export function workflowsSuite(b: TestBackend): void {
  let cv: Conveyor;
  let workers: Worker[] = [];
  beforeEach(async () => {
    cv = await b.open();
  });
  afterEach(async () => {
    for (const w of workers) await w.stop();
    workers = [];
    await cv.close();
  });

  const work = async (handlers: Handlers, concurrency = 8) => {
    const w = cv.worker({ concurrency, handlers, pollIntervalMs: 50, reaperIntervalMs: 50 });
    workers.push(w);
    await w.start();
    return w;
  };
  const run = async (def: Parameters<Conveyor['startWorkflow']>[0], input: unknown = {}) => {
    const { id } = await cv.startWorkflow(def, input);
    return cv.waitForWorkflow(id, { timeoutMs: 20_000 });
  };
  const executors = async (itemId: string) =>
    (await cv.getWorkItemReceipts(itemId)).map((r) => `${r.status}:${r.executorId ?? '-'}`);

  describe('workflows', () => {
    it('runs steps as their dependencies finish; outputs flow through templates', async () => {
      await work({
        fetch: (p: { n: number }) => ({ users: Array.from({ length: p.n }, (_, i) => `u${i}`), count: p.n }),
        describe: (p: unknown) => p,
      });
      const def = cv
        .workflow('flow')
        .step('fetch', 'fetch', { input: { n: '{{input.n}}' } })
        .step('describe', 'describe', {
          input: {
            users: '{{steps.fetch.output.users}}',
            first: '{{steps.fetch.output.users.0}}',
            line: 'got {{steps.fetch.output.count}} users for {{input.who}}',
          },
        })
        .build();
      const result = await run(def, { n: 3, who: 'ops' });
      expect(result.status).toBe('completed');
      expect(result.results.fetch).toEqual({ users: ['u0', 'u1', 'u2'], count: 3 });
      expect(result.results.describe).toEqual({
        users: ['u0', 'u1', 'u2'],
        first: 'u0',
        line: 'got 3 users for ops',
      });
      expect(result.errors).toEqual({});
      const wf = await cv.getWorkflow(result.id);
      expect(wf.steps.map((s) => [s.id, s.status, s.deps])).toEqual([
        ['fetch', 'completed', []],
        ['describe', 'completed', ['fetch']],
      ]);
      expect(wf.progress).toBe(100);
      expect((await cv.checkEventLog()).mismatches).toEqual([]);
    });

    it('connect() wires an output field to an input parameter', async () => {
      await work({ build: () => ({ artifact: 'app.tgz' }), ship: (p: unknown) => p });
      const def = cv
        .workflow('ship')
        .step('build', 'build')
        .step('ship', 'ship', { input: { env: 'prod' } })
        .connect('build', 'artifact', 'ship', 'file')
        .build();
      const result = await run(def);
      expect(result.results.ship).toEqual({ env: 'prod', file: 'app.tgz' });
    });

    it('phases: a step in a phase waits for every step of the phases it depends on', async () => {
      const finished: string[] = [];
      const started: Record<string, string[]> = {};
      await work({
        job: async (p: { name: string }) => {
          started[p.name] = [...finished];
          await new Promise((r) => setTimeout(r, p.name === 'lint' ? 30 : 5));
          finished.push(p.name);
          return p.name;
        },
      });
      const def = cv
        .workflow('deploy')
        .phase('build')
        .phase('test', { dependsOn: ['build'] })
        .phase('deploy', { dependsOn: ['test'] })
        .step('compile', 'job', { phase: 'build', input: { name: 'compile' } })
        .step('lint', 'job', { phase: 'build', input: { name: 'lint' } })
        .step('unit', 'job', { phase: 'test', input: { name: 'unit' } })
        .step('e2e', 'job', { phase: 'test', input: { name: 'e2e' } })
        .step('release', 'job', { phase: 'deploy', input: { name: 'release' } })
        .build();
      const result = await run(def);
      expect(result.status).toBe('completed');
      expect(started.unit).toEqual(expect.arrayContaining(['compile', 'lint']));
      expect(started.e2e).toEqual(expect.arrayContaining(['compile', 'lint']));
      expect(started.release).toEqual(expect.arrayContaining(['compile', 'lint', 'unit', 'e2e']));
    });

    it('failFast: the first failure fails the run, cancels running steps and skips the rest', async () => {
      let signal: AbortSignal | undefined;
      await work({
        slow: (_p, ctx) =>
          new Promise((resolve) => {
            signal = ctx.signal;
            ctx.signal.addEventListener('abort', () => resolve('stopped'));
          }),
        bad: async () => {
          await waitFor(() => signal !== undefined, 'the slow step to start');
          throw new NonRetryableError('broken build');
        },
        after: () => 'never',
      });
      const def = cv
        .workflow('ff')
        .step('slow', 'slow')
        .step('bad', 'bad')
        .step('after', 'after', { deps: ['bad'] })
        .build();
      const result = await run(def);
      expect(result.status).toBe('failed');
      expect(result.errors.bad).toContain('broken build');
      expect(signal?.aborted).toBe(true);
      const wf = await cv.getWorkflow(result.id);
      const status = Object.fromEntries(wf.steps.map((s) => [s.id, s.status]));
      expect(status).toEqual({ slow: 'cancelled', bad: 'failed', after: 'skipped' });
      expect(wf.error?.message).toContain('step bad failed');
    });

    it("continue: independent branches finish; the failed step's dependents are skipped", async () => {
      await work({ ok: () => 'ok', bad: () => Promise.reject(new NonRetryableError('nope')) });
      const def = cv
        .workflow('cont')
        .onStepFailure('continue')
        .step('a', 'ok')
        .step('b', 'bad')
        .step('c', 'ok', { deps: ['a'] })
        .step('d', 'ok', { deps: ['b'] })
        .build();
      const result = await run(def);
      expect(result.status).toBe('failed');
      expect(result.results).toEqual({ a: 'ok', c: 'ok' });
      expect(Object.keys(result.errors).sort()).toEqual(['b', 'd']);
      const wf = await cv.getWorkflow(result.id);
      expect(wf.steps.find((s) => s.id === 'd')!.status).toBe('skipped');
      // The result (read from the steps' outcomes only) says what the whole run says, when
      // the run ends and when it had ended already.
      const whole = { id: wf.id, status: wf.status, results: wf.results, errors: wf.errors };
      expect(result).toEqual(whole);
      expect(await cv.waitForWorkflow(result.id)).toEqual(whole);
    });

    it('cancelWorkflow aborts running handlers and skips steps that had not started', async () => {
      let signal: AbortSignal | undefined;
      await work({
        hold: (_p, ctx) =>
          new Promise((resolve) => {
            signal = ctx.signal;
            ctx.signal.addEventListener('abort', () => resolve(null));
          }),
        next: () => 'never',
      });
      const def = cv
        .workflow('cancel')
        .step('hold', 'hold')
        .step('next', 'next', { deps: ['hold'] })
        .build();
      const { id } = await cv.startWorkflow(def);
      await waitFor(() => signal !== undefined, 'the step to start');
      const wf = await cv.cancelWorkflow(id, { reason: 'operator' });
      expect(wf.status).toBe('cancelled');
      expect(Object.fromEntries(wf.steps.map((s) => [s.id, s.status]))).toEqual({
        hold: 'cancelled',
        next: 'skipped',
      });
      await waitFor(() => signal!.aborted, 'the handler signal to abort');
      expect((await cv.waitForWorkflow(id)).status).toBe('cancelled');
      await expect(cv.cancelWorkflow(id)).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    });

    it('parallel map: one child per element, at most `concurrency` at once, results in order', async () => {
      let inFlight = 0;
      let most = 0;
      await work(
        {
          list: () => ({ numbers: Array.from({ length: 40 }, (_, i) => i) }),
          square: async (p: { n: number; at: number }) => {
            most = Math.max(most, ++inFlight);
            await new Promise((r) => setTimeout(r, 2));
            inFlight--;
            return p.n * p.n + p.at * 0;
          },
          sum: (p: { values: number[] }) => p.values.reduce((a, v) => a + v, 0),
        },
        20,
      );
      const def = cv
        .workflow('scatter-gather')
        .step('list', 'list')
        .step('square', 'square', {
          map: { over: '{{steps.list.output.numbers}}', concurrency: 5 },
          input: { n: '{{item}}', at: '{{index}}' },
        })
        .step('sum', 'sum', { input: { values: '{{steps.square.output}}' } })
        .build();
      const result = await run(def);
      expect(result.status).toBe('completed');
      expect(result.results.square).toEqual(Array.from({ length: 40 }, (_, i) => i * i));
      expect(result.results.sum).toBe(Array.from({ length: 40 }, (_, i) => i * i).reduce((a, v) => a + v));
      expect(most).toBeLessThanOrEqual(5);
      const wf = await cv.getWorkflow(result.id);
      expect(wf.steps.find((s) => s.id === 'square')!.map).toEqual({ total: 40, finished: 40, failed: 0 });
    });

    it('map: continueOnError keeps going with null results; without it the first failure stops the map', async () => {
      await work({
        list: () => [1, 2, 3, 4],
        odd: (n: number) => (n % 2 ? Promise.reject(new NonRetryableError(`bad ${n}`)) : n),
      });
      const keepGoing = cv
        .workflow('map-continue')
        .step('list', 'list')
        .step('each', 'odd', { map: { over: '{{steps.list.output}}', continueOnError: true } })
        .build();
      const ok = await run(keepGoing);
      expect(ok.status).toBe('completed');
      expect(ok.results.each).toEqual([null, 2, null, 4]);
      const stop = cv
        .workflow('map-stop')
        .step('list', 'list')
        .step('each', 'odd', { map: { over: '{{steps.list.output}}', concurrency: 1 } })
        .build();
      const failed = await run(stop);
      expect(failed.status).toBe('failed');
      expect(failed.errors.each).toContain('item 0 of map step each');
      const children = (await cv.listWorkItems({ workflowId: failed.id, limit: 100 })).items.filter(
        (i) => i.mapIndex !== null,
      );
      expect(children.filter((i) => i.status === 'completed')).toHaveLength(0);
      expect(children.map((i) => i.status).sort()).toEqual(['failed', 'skipped', 'skipped', 'skipped']);
    });

    it('retry: a flaky step is retried with backoff and then succeeds', async () => {
      let calls = 0;
      await work({ flaky: () => (++calls < 3 ? Promise.reject(new Error('flake')) : 'fine') });
      const def = cv
        .workflow('retry')
        .step('flaky', 'flaky', {
          retry: { maxRetries: 3, backoff: { type: 'fixed', baseMs: 10, jitter: 0 } },
        })
        .build();
      const result = await run(def);
      expect(result.results.flaky).toBe('fine');
      const wf = await cv.getWorkflow(result.id);
      expect(wf.steps[0]!.attempts).toBe(3);
      expect(
        (await cv.getWorkItemReceipts(wf.steps[0]!.itemId)).filter((r) => r.status === 'retried'),
      ).toHaveLength(2);
    });

    it('timeoutMs + fallback: a step that runs too long is replaced by its fallback', async () => {
      await work({
        slow: (_p, ctx) =>
          new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('late'))),
        cached: (p: { reason: string }) => ({ from: 'fallback', reason: p.reason }),
        use: (p: unknown) => p,
      });
      const def = cv
        .workflow('fallback')
        .step('price', 'slow', {
          timeoutMs: 50,
          retry: { maxRetries: 0 },
          fallback: { type: 'cached', input: { reason: 'timeout' } },
        })
        .step('use', 'use', { input: '{{steps.price.output}}' })
        .build();
      const result = await run(def);
      expect(result.status).toBe('completed');
      expect(result.results.price).toEqual({ from: 'fallback', reason: 'timeout' });
      expect(result.results.use).toEqual({ from: 'fallback', reason: 'timeout' });
      const step = (await cv.getWorkflow(result.id)).steps[0]!;
      expect(step.fallback).toBe(true);
      expect(step.type).toBe('cached');
      const receipts = await cv.getWorkItemReceipts(step.itemId);
      expect(receipts.map((r) => r.status)).toEqual([
        'enqueued',
        'started',
        'retried',
        'started',
        'completed',
      ]);
      expect(receipts[2]!.error?.code).toBe('TIMEOUT');
    });

    it('rateLimit: steps sharing a key start no faster than the bucket allows, without polling', async () => {
      const perSecond = 20;
      const burst = 2;
      await work({ list: () => Array.from({ length: 8 }, (_, i) => i), call: (n: number) => n }, 20);
      const def = cv
        .workflow('limited')
        .step('list', 'list')
        .step('call', 'call', {
          map: { over: '{{steps.list.output}}' },
          rateLimit: { key: 'api', perSecond, burst },
        })
        .build();
      const result = await run(def);
      expect(result.results.call).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      const children = (await cv.listWorkItems({ workflowId: result.id, limit: 100 })).items.filter(
        (i) => i.mapIndex !== null,
      );
      const starts = children.map((i) => Date.parse(i.startedAt!)).sort((x, y) => x - y);
      // The k-th start (0-based) cannot come before (k + 1 - burst) tokens have been refilled.
      starts.forEach((t, k) => {
        const earliest = starts[0]! + (Math.max(0, k + 1 - burst) / perSecond) * 1000;
        expect(t).toBeGreaterThanOrEqual(earliest - 5);
      });
      // Each item over the limit was rescheduled once, holding a reserved token: no retries in a loop.
      const types: string[] = [];
      const sub = cv.subscribe({ workflowId: result.id, afterSeq: 0 }, (e) => void types.push(e.type));
      await sub.ready;
      sub.close();
      const rescheduled = types.filter((t) => t === 'item.rate_limited').length;
      expect(rescheduled).toBeGreaterThan(0);
      expect(rescheduled).toBeLessThanOrEqual(8 - burst);
    });

    it('circuitBreaker: opens after the threshold, fails fast into the fallback, lets a trial through after the reset', async () => {
      let calls = 0;
      let healthy = false;
      await work(
        {
          items: () => [1, 2, 3, 4, 5, 6],
          flaky: (n: number) => {
            calls++;
            if (!healthy) throw new NonRetryableError(`down ${n}`);
            return `ok ${n}`;
          },
          spare: () => 'spare',
        },
        1,
      );
      const def = (name: string) =>
        cv
          .workflow(name)
          .step('items', 'items')
          .step('call', 'flaky', {
            map: { over: '{{steps.items.output}}', concurrency: 1, continueOnError: true },
            circuitBreaker: { key: 'svc', failureThreshold: 2, resetTimeoutMs: 1500 },
          })
          .build();
      const first = await run(def('breaker-1'));
      // Two real failures open the breaker; the other four fail fast without calling it.
      expect(calls).toBe(2);
      expect(first.results.call).toEqual([null, null, null, null, null, null]);
      const children = (await cv.listWorkItems({ workflowId: first.id, limit: 100 })).items.filter(
        (i) => i.mapIndex !== null,
      );
      const fast = children.filter((i) => i.error?.code === 'CIRCUIT_OPEN');
      expect(fast).toHaveLength(4);
      expect(await executors(fast[0]!.id)).toEqual([
        'enqueued:-',
        'queued:-', // its turn came (concurrency 1)
        'started:conveyor:circuit-breaker',
        'failed:conveyor:circuit-breaker',
      ]);
      healthy = true;
      await new Promise((r) => setTimeout(r, 1600));
      const second = await run(def('breaker-2'));
      // half_open lets one trial through; its success closes the breaker for the rest.
      expect(second.results.call).toEqual(['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5', 'ok 6']);
    });

    it('circuitBreaker with a fallback: an open breaker runs the fallback instead', async () => {
      await work({ boom: () => Promise.reject(new NonRetryableError('down')), spare: () => 'spare' }, 1);
      const step = {
        circuitBreaker: { key: 'svc2', failureThreshold: 1, resetTimeoutMs: 60_000 },
        fallback: { type: 'spare' },
      };
      const a = await run(cv.workflow('fb-1').step('call', 'boom', step).build());
      expect(a.results.call).toBe('spare'); // its own failure → fallback
      const b2 = await run(cv.workflow('fb-2').step('call', 'boom', step).build());
      expect(b2.results.call).toBe('spare');
      const item = (await cv.getWorkflow(b2.id)).steps[0]!;
      const receipts = await cv.getWorkItemReceipts(item.itemId);
      expect(receipts[2]!.error?.code).toBe('CIRCUIT_OPEN');
    });

    it('batch: the handler gets up to `size` payloads at once', async () => {
      const calls: number[][] = [];
      await work(
        {
          list: () => Array.from({ length: 12 }, (_, i) => i),
          double: (payloads: number[]) => {
            calls.push(payloads);
            return payloads.map((n) => n * 2);
          },
        },
        20,
      );
      const def = cv
        .workflow('batched')
        .step('list', 'list')
        .step('double', 'double', { map: { over: '{{steps.list.output}}' }, batch: { size: 5, flushMs: 50 } })
        .build();
      const result = await run(def);
      expect(result.results.double).toEqual(Array.from({ length: 12 }, (_, i) => i * 2));
      expect(calls.every((c) => c.length <= 5)).toBe(true);
      expect(calls.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      expect(calls.length).toBeLessThan(12);
    });

    it('cache: a second run with the same key skips execution, and the receipt says so', async () => {
      let calls = 0;
      await work({ lookup: (p: { user: string }) => ({ user: p.user, n: ++calls }) });
      const def = cv
        .workflow('cached')
        .step('lookup', 'lookup', {
          input: { user: '{{input.user}}' },
          cache: { key: 'user:{{input.user}}', ttlMs: 60_000 },
        })
        .build();
      const first = await run(def, { user: 'ada' });
      const second = await run(def, { user: 'ada' });
      const third = await run(def, { user: 'bob' });
      expect(first.results.lookup).toEqual({ user: 'ada', n: 1 });
      expect(second.results.lookup).toEqual({ user: 'ada', n: 1 });
      expect(third.results.lookup).toEqual({ user: 'bob', n: 2 });
      expect(calls).toBe(2);
      const hit = (await cv.getWorkflow(second.id)).steps[0]!;
      expect(await executors(hit.itemId)).toEqual([
        'enqueued:-',
        'started:conveyor:cache',
        'completed:conveyor:cache',
      ]);
      expect((await cv.getWorkItemLogs(hit.itemId)).map((l) => l.message)).toEqual([
        'cache hit: lookup:user:ada',
      ]);
    });

    it('waitForEvent: a step completes with the payload of the event sent to the run', async () => {
      await work({ deploy: (p: unknown) => p });
      const def = cv
        .workflow('approval')
        .step('approve', 'approval', { waitForEvent: { name: 'approved' } })
        .step('deploy', 'deploy', { input: { by: '{{steps.approve.output.by}}' } })
        .build();
      const { id } = await cv.startWorkflow(def);
      await waitFor(
        async () => (await cv.getWorkflow(id)).steps[0]!.status === 'running',
        'the wait to start',
      );
      const sent = await cv.sendEvent(id, 'approved', { by: 'grace' });
      expect(sent.eventId).toEqual(expect.any(String));
      const result = await cv.waitForWorkflow(id, { timeoutMs: 10_000 });
      expect(result.results).toEqual({ approve: { by: 'grace' }, deploy: { by: 'grace' } });
      // An event that came first is there for a step that starts waiting later.
      const early = cv
        .workflow('early')
        .step('first', 'deploy', { input: 1 })
        .step('wait', 'approval', { deps: ['first'], waitForEvent: { name: 'go' } })
        .build();
      const r2 = await cv.startWorkflow(early);
      await cv.sendEvent(r2.id, 'go', 'now');
      expect((await cv.waitForWorkflow(r2.id, { timeoutMs: 10_000 })).results.wait).toBe('now');
    });

    it('waitForEvent with timeoutMs fails the step with TIMEOUT when nothing comes', async () => {
      await work({ noop: () => null });
      const def = cv
        .workflow('no-reply')
        .step('wait', 'reply', { waitForEvent: { name: 'reply', timeoutMs: 100 } })
        .build();
      const result = await run(def);
      expect(result.status).toBe('failed');
      expect((await cv.getWorkflow(result.id)).steps[0]!.error?.code).toBe('TIMEOUT');
    });

    it('rebuilds every workflow and item from the log after a run that used every feature', async () => {
      await work({
        list: () => [1, 2, 3],
        inc: (n: number) => n + 1,
        slow: (_p, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(0))),
        spare: () => 'spare',
        pair: (ps: number[]) => ps,
      });
      const def = cv
        .workflow('everything')
        .phase('p1')
        .phase('p2', { dependsOn: ['p1'] })
        .step('list', 'list', { phase: 'p1', cache: { key: 'list', ttlMs: 60_000 } })
        .step('map', 'inc', {
          phase: 'p2',
          map: { over: '{{steps.list.output}}' },
          rateLimit: { key: 'r', perSecond: 100 },
        })
        .step('batch', 'pair', {
          phase: 'p2',
          map: { over: '{{steps.list.output}}' },
          batch: { size: 2, flushMs: 20 },
        })
        .step('slow', 'slow', { timeoutMs: 30, retry: { maxRetries: 0 }, fallback: { type: 'spare' } })
        .step('wait', 'w', { waitForEvent: { name: 'go' } })
        .step('end', 'inc', {
          input: 1,
          deps: ['map', 'batch', 'slow', 'wait'],
          circuitBreaker: { key: 'c', failureThreshold: 3, resetTimeoutMs: 100 },
        })
        .build();
      const runOnce = async () => {
        const { id } = await cv.startWorkflow(def);
        await cv.sendEvent(id, 'go', { ok: true });
        return cv.waitForWorkflow(id, { timeoutMs: 20_000 });
      };
      expect((await runOnce()).status).toBe('completed');
      const again = await runOnce(); // `list` is a cache hit this time
      expect(again.status).toBe('completed');
      expect((await cv.getWorkflow(again.id)).steps[0]!.attempts).toBe(1);
      const check = await cv.checkEventLog();
      expect(check.mismatches).toEqual([]);
      expect(check.workflows).toBe(2);
    });

    it('a resource declared on the builder is created once, shared by the steps that list it', async () => {
      let made = 0;
      await work({ use: async (_p, ctx) => (await ctx.resources.get<{ n: number }>('counter')).n });
      const def = cv
        .workflow('res')
        .resource('counter', () => ({ n: ++made }))
        .step('a', 'use', { resources: ['counter'] })
        .step('b', 'use', { resources: ['counter'], deps: ['a'] })
        .build(); // plain JSON from here on
      const result = await run(JSON.parse(JSON.stringify(def)) as typeof def);
      expect(result.results).toEqual({ a: 1, b: 1 });
      expect(made).toBe(1);
    });

    it('items enqueued by hand with a workflowId that names no run are plain items', async () => {
      await work({ t: (p: number) => p });
      const [a, b2] = await cv.enqueueWorkItems([
        { id: 'hand-a', type: 't', payload: 1, workflowId: 'not-a-run', stepId: 'x' },
        {
          type: 't',
          payload: 2,
          workflowId: 'not-a-run',
          stepId: 'y',
          constraints: { dependencies: ['hand-a'] },
        },
      ]);
      await waitFor(async () => (await cv.getWorkItem(b2!.id)).status === 'completed', 'both items');
      expect((await cv.getWorkItem(a!.id)).output).toBe(1);
      expect((await cv.listWorkflows()).workflows).toEqual([]);
    });

    it('rejects bad definitions and bad input, naming the field, and writes nothing', async () => {
      await expect(
        cv.startWorkflow({ name: 'x', steps: [{ id: 'a', type: 't', deps: ['nope'] }] }),
      ).rejects.toMatchObject({
        code: 'VALIDATION',
        field: 'steps[0].deps[0]',
      });
      await expect(
        cv.startWorkflow({ name: 'x', steps: [{ id: 'a', type: 't', input: '{{steps.ghost.output}}' }] }),
      ).rejects.toMatchObject({ code: 'VALIDATION' });
      await expect(
        cv.startWorkflow({
          name: 'x',
          steps: [
            { id: 'a', type: 't', deps: ['b'] },
            { id: 'b', type: 't', deps: ['a'] },
          ],
        }),
      ).rejects.toMatchObject({ code: 'CYCLE' });
      const ok = { name: 'x', steps: [{ id: 'a', type: 't', input: '{{input.missing}}' }] };
      await expect(cv.startWorkflow(ok, { other: 1 })).rejects.toMatchObject({ code: 'TEMPLATE' });
      await expect(cv.startWorkflow(ok, {}, { tenant: 'no spaces allowed' })).rejects.toMatchObject({
        code: 'VALIDATION',
        field: 'options.tenant',
      });
      await expect(cv.startWorkflow(ok, () => 1)).rejects.toMatchObject({
        code: 'VALIDATION',
        field: 'input',
      });
      expect(() =>
        cv
          .workflow('r')
          .step('a', 't', { resources: ['db'] })
          .build(),
      ).toThrow(/db/);
      expect((await cv.listWorkflows()).workflows).toEqual([]);
      expect((await cv.listWorkItems()).items).toEqual([]);
      await expect(cv.getWorkflow('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(cv.waitForWorkflow('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(cv.sendEvent('missing', 'e', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(cv.listWorkflows({ status: 'nope' as never })).rejects.toMatchObject({ field: 'status' });
    });

    it('a definition changed after build() is checked again and runs as changed', async () => {
      await work({ t: (p: unknown) => p });
      const def = cv.workflow('edited').step('a', 't', { input: 1 }).build();
      def.steps[0]!.input = 2;
      def.steps.push({ id: 'b', type: 't', deps: ['a'], input: '{{steps.a.output}}' });
      const result = await run(def);
      expect(result.results).toEqual({ a: 2, b: 2 });
      def.steps[1]!.deps = ['ghost'];
      await expect(cv.startWorkflow(def)).rejects.toMatchObject({
        code: 'VALIDATION',
        field: 'steps[1].deps[0]',
      });
      (def.steps[1] as { timeoutMs?: number }).timeoutMs = -1;
      await expect(cv.startWorkflow(def)).rejects.toMatchObject({
        code: 'VALIDATION',
        field: 'steps[1].timeoutMs',
      });
      expect((await cv.listWorkflows()).workflows).toHaveLength(1);
    });

    it('waitForWorkflow gives up with TIMEOUT; listWorkflows pages newest first', async () => {
      const def = cv.workflow('idle').step('a', 'nobody-runs-this').build();
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await cv.startWorkflow(def)).id);
      await expect(cv.waitForWorkflow(ids[0]!, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'TIMEOUT' });
      const page1 = await cv.listWorkflows({ limit: 2 });
      expect(page1.workflows.map((w) => w.id)).toEqual([ids[2], ids[1]]);
      const page2 = await cv.listWorkflows({ limit: 2, cursor: page1.nextCursor! });
      expect(page2.workflows.map((w) => w.id)).toEqual([ids[0]]);
      expect((await cv.listWorkflows({ status: 'completed' })).workflows).toEqual([]);
    });

    it('a map over 10,000 elements gathers every result in order', { timeout: 120_000 }, async () => {
      await work({ sq: (n: number) => n * n, count: (p: { v: number[] }) => p.v.length }, 50);
      const def = cv
        .workflow('wide')
        .step('sq', 'sq', { map: { over: '{{input.list}}', concurrency: 1000 } })
        .step('count', 'count', { input: { v: '{{steps.sq.output}}' } })
        .build();
      const { id } = await cv.startWorkflow(def, { list: Array.from({ length: 10_000 }, (_, i) => i) });
      const result = await cv.waitForWorkflow(id, { timeoutMs: 110_000 });
      expect(result.status).toBe('completed');
      expect(result.results.count).toBe(10_000);
      const out = result.results.sq as number[];
      expect(out[9_999]).toBe(9_999 * 9_999);
      expect(out.every((v, i) => v === i * i)).toBe(true);
      expect((await cv.getWorkflow(id)).steps[0]!.map).toEqual({
        total: 10_000,
        finished: 10_000,
        failed: 0,
      });
    });

    it('a 1,000-step DAG (fan-out, then a chain) runs to completion', async () => {
      await work({ n: (p: { i: number }) => p.i }, 20);
      let wf = cv.workflow('big').step('root', 'n', { input: { i: -1 } });
      for (let i = 0; i < 900; i++) wf = wf.step(`f${i}`, 'n', { deps: ['root'], input: { i } });
      for (let i = 0; i < 99; i++)
        wf = wf.step(`c${i}`, 'n', { deps: [i === 0 ? 'f0' : `c${i - 1}`], input: { i } });
      const result = await run(wf.build());
      expect(result.status).toBe('completed');
      expect(Object.keys(result.results)).toHaveLength(1000);
    });
  });
}
