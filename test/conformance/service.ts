/**
 * What the HTTP service builds on, the same on every backend: workflow drafts (assembled
 * call by call, started as a run with the same id), retrying a finished item as a new one,
 * remote claims limited to one tenant, webhook deliveries scheduled in the transaction
 * that finishes their subject, and tenants' signing secrets shared by every process.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NonRetryableError, type Conveyor, type Worker } from '../../src/index.js';
import type { TestBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/conveyors.js';

/** What `p` rejects with; fails the test when it resolves. */
const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );

export function serviceSuite(b: TestBackend): void {
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
  const work = async (handlers: Parameters<Conveyor['worker']>[0]['handlers']) => {
    const w = cv.worker({ concurrency: 4, handlers, pollIntervalMs: 20 });
    workers.push(w);
    await w.start();
  };

  describe('workflow drafts', () => {
    it('are assembled call by call and started as a run with the same id', async () => {
      const d = await cv.drafts.create({ name: 'release', description: 'ship it', input: { v: 2 } });
      expect(d).toMatchObject({ status: 'draft', phases: [], steps: [], description: 'ship it' });
      await cv.drafts.addPhase(d.id, { id: 'build', name: 'Build' });
      await cv.drafts.addPhase(d.id, { id: 'ship', dependsOn: ['build'] });
      await cv.drafts.addStep(d.id, { id: 'compile', type: 'echo', phase: 'build', input: '{{input.v}}' });
      const full = await cv.drafts.addStep(d.id, { id: 'upload', type: 'echo', phase: 'ship' });
      expect(full.steps.map((s) => s.id)).toEqual(['compile', 'upload']);
      expect((await cv.drafts.get(d.id))?.phases.map((p) => p.id)).toEqual(['build', 'ship']);

      await work({ echo: (p: unknown) => p });
      expect(await cv.drafts.start(d.id)).toEqual({ id: d.id, status: 'running' });
      expect(await cv.drafts.get(d.id)).toBeUndefined();
      const done = await cv.waitForWorkflow(d.id, { timeoutMs: 10_000 });
      expect(done.status).toBe('completed');
      expect(done.results.compile).toBe(2);
      const run = await cv.getWorkflow(d.id);
      expect(run.description).toBe('ship it');
      // upload is in a phase that depends on build: it ran after compile.
      const [compile, upload] = run.steps;
      expect(Date.parse(upload!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(compile!.finishedAt!));
    });

    it('refuse what would not compile, naming the field, and change nothing', async () => {
      const d = await cv.drafts.create({ name: 'w' });
      await cv.drafts.addStep(d.id, { id: 'a', type: 't' });
      const cases: Array<[() => Promise<unknown>, string]> = [
        [() => cv.drafts.addPhase(d.id, { id: 'p', dependsOn: ['missing'] }), 'phase.dependsOn'],
        [() => cv.drafts.addStep(d.id, { id: 'b', type: 't', deps: ['nope'] }), 'step.deps'],
        [() => cv.drafts.addStep(d.id, { id: 'b', type: 't', phase: 'nope' }), 'step.phase'],
        [() => cv.drafts.addStep(d.id, { id: 'a', type: 't' }), 'step.id'],
        [() => cv.drafts.addStep(d.id, { id: 'bad id', type: 't' }), 'step.id'],
      ];
      for (const [call, field] of cases) {
        const e = await rejection(call());
        expect(e).toMatchObject({ code: 'VALIDATION', field });
      }
      expect((await cv.drafts.get(d.id))?.steps.map((s) => s.id)).toEqual(['a']);
      expect(
        await rejection(
          cv.drafts.create({
            name: 'x',
            steps: [
              { id: 'a', type: 't' },
              { id: 'a', type: 't' },
            ],
          }),
        ),
      ).toMatchObject({ code: 'VALIDATION', field: 'steps[1].id' });
      expect(await rejection(cv.drafts.create({ id: d.id, name: 'again' }))).toMatchObject({
        code: 'CONFLICT',
      });
    });

    it('an empty draft does not start; a started one cannot change; another tenant sees none', async () => {
      const empty = await cv.drafts.create({ name: 'empty' });
      expect(await rejection(cv.drafts.start(empty.id))).toMatchObject({
        code: 'VALIDATION',
        field: 'steps',
      });
      expect(await cv.drafts.get(empty.id)).toBeDefined();

      const d = await cv.drafts.create({ name: 'w', tenant: 'acme', steps: [{ id: 'a', type: 'never' }] });
      expect(await cv.drafts.get(d.id, { tenant: 'globex' })).toBeUndefined();
      expect(await rejection(cv.drafts.start(d.id, { tenant: 'globex' }))).toMatchObject({
        code: 'NOT_FOUND',
      });
      await cv.drafts.start(d.id, { tenant: 'acme' });
      expect((await cv.getWorkflow(d.id)).tenant).toBe('acme');
      expect(
        await rejection(cv.drafts.addStep(d.id, { id: 'b', type: 't' }, { tenant: 'acme' })),
      ).toMatchObject({
        code: 'CONFLICT',
      });
      expect(await rejection(cv.drafts.start(d.id))).toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('retryWorkItem', () => {
    it('runs a failed item again as a new item that names it; only failed or cancelled ones', async () => {
      const item = await cv.enqueueWorkItem({
        type: 'flaky',
        name: 'Flaky job',
        payload: { n: 1 },
        priority: 'high',
        constraints: { maxRetries: 0 },
      });
      let calls = 0;
      await work({
        flaky: () => {
          if (++calls === 1) throw new NonRetryableError('first time fails');
          return 'ok';
        },
      });
      await waitFor(async () => (await cv.getWorkItem(item.id)).status === 'failed', 'failed');
      const again = await cv.retryWorkItem(item.id);
      expect(again).toMatchObject({ retryOf: item.id, name: 'Flaky job', payload: { n: 1 }, priority: 10 });
      expect(again.id).not.toBe(item.id);
      await waitFor(async () => (await cv.getWorkItem(again.id)).status === 'completed', 'retry completed');
      expect((await cv.getWorkItem(item.id)).status).toBe('failed');
      expect(await rejection(cv.retryWorkItem(again.id))).toMatchObject({ code: 'CONFLICT' });
      expect(await rejection(cv.retryWorkItem('missing'))).toMatchObject({ code: 'NOT_FOUND' });
      const cancelled = await cv.enqueueWorkItem({ type: 'nobody', delayMs: 60_000 });
      await cv.cancelWorkItem(cancelled.id);
      expect((await cv.retryWorkItem(cancelled.id)).retryOf).toBe(cancelled.id);
    });
  });

  describe('claimWorkItems', () => {
    it('takes queued items straight to running, only of its tenant and capabilities', async () => {
      await cv.registerExecutor('remote', { capabilities: ['gpu'] });
      const mine = await cv.enqueueWorkItems([
        { type: 'render', tenant: 'acme' },
        { type: 'render', tenant: 'acme', constraints: { requiredCapabilities: ['gpu'] } },
        { type: 'render', tenant: 'acme', constraints: { requiredCapabilities: ['tpu'] } },
      ]);
      await cv.enqueueWorkItem({ type: 'render', tenant: 'globex' });
      const got = await cv.claimWorkItems('remote', { tenant: 'acme', types: ['render'], limit: 10 });
      expect(got.map((i) => i.id).sort()).toEqual([mine[0]!.id, mine[1]!.id].sort());
      expect(got.every((i) => i.status === 'running' && i.leaseToken !== null)).toBe(true);
      await cv.completeWorkItem(got[0]!.id, 'remote', { output: 1, leaseToken: got[0]!.leaseToken! });
      expect((await cv.getWorkItem(got[0]!.id)).status).toBe('completed');
      expect(await rejection(cv.claimWorkItems('ghost'))).toMatchObject({ code: 'NOT_FOUND' });
      expect(await rejection(cv.claimWorkItems('remote', { limit: 0 }))).toMatchObject({
        code: 'VALIDATION',
      });
    });
  });

  describe('webhooks', () => {
    it('a finished item schedules one delivery in the same transaction; the history records attempts', async () => {
      await cv.deliverWebhooks({ worker: false });
      const item = await cv.enqueueWorkItem({ type: 'job', webhookUrl: 'http://127.0.0.1:9/hook' });
      await cv.registerExecutor('x');
      await cv.assignWorkItem(item.id, 'x');
      await cv.startExecution(item.id, 'x');
      await cv.completeWorkItem(item.id, 'x', { output: 1 });
      const deliveries = await cv.listWorkItems({ type: 'conveyor.webhook' });
      expect(deliveries.items).toHaveLength(1);
      expect(deliveries.items[0]!.payload).toMatchObject({
        kind: 'task',
        subjectId: item.id,
        eventType: 'task.completed',
        url: 'http://127.0.0.1:9/hook',
      });
      // Without an allow-list the loopback target is refused: recorded as blocked, not retried.
      const w = await cv.deliverWebhooks({ retry: { maxRetries: 3, baseMs: 10 } });
      workers.push(w!);
      await waitFor(async () => (await cv.getWebhookAttempts(item.id)).length === 1, 'attempt recorded');
      await waitFor(
        async () => (await cv.getWorkItem(deliveries.items[0]!.id)).status === 'failed',
        'delivery failed for good',
      );
      const [attempt] = await cv.getWebhookAttempts(item.id);
      expect(attempt).toMatchObject({
        outcome: 'blocked',
        statusCode: null,
        attempt: 1,
        eventType: 'task.completed',
      });
      expect(await cv.getWebhookAttempts(item.id)).toHaveLength(1);
    });

    it("a tenant's signing secret is created once and shared by every process", async () => {
      const other = await b.openSibling(cv);
      try {
        // One after the other: two SQLite connections in one thread cannot wait for each other.
        const a = await cv.webhookSecret('acme');
        const b2 = await other.webhookSecret('acme');
        expect(a).toMatch(/^whsec_/);
        expect(b2).toBe(a);
        expect(await cv.webhookSecret('globex')).not.toBe(a);
      } finally {
        await other.close();
      }
    });
  });
}
