/**
 * The HTTP API (CONTRACT §6) end to end on a real server over each backend: tasks and
 * their lifecycle, remote executors, workflows built incrementally and one-shot, reads of
 * logs and receipts, and the system routes (health, metrics, OpenAPI, docs).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Conveyor } from '../../src/index.js';
import { startTestApi, type TestApi } from '../helpers/api-server.js';
import { postgresBackend, requirePostgres, sqliteBackend, type TestBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/conveyors.js';

const pgAvailable = await requirePostgres('http-api.test.ts');
const backends: TestBackend[] = pgAvailable ? [sqliteBackend, postgresBackend] : [sqliteBackend];

describe.each(backends)('HTTP API on $name', (backend) => {
  let cv: Conveyor;
  let api: TestApi;
  let release: () => void = () => {};
  beforeEach(async () => {
    cv = await backend.open();
    let gate = new Promise<void>((r) => (release = r));
    api = await startTestApi({
      conveyor: cv,
      handlers: {
        echo: async (payload: unknown, ctx) => {
          await ctx.progress(50, 'half way');
          await ctx.log('echoing');
          return payload;
        },
        boom: () => {
          throw new Error('it broke');
        },
        gated: async () => {
          await gate;
          gate = new Promise<void>((r) => (release = r));
          return 'opened';
        },
      },
    });
  });
  afterEach(async () => {
    release();
    await api.close();
    await cv.close();
  });

  const taskDone = (id: string, status = 'completed') =>
    waitFor(
      async () => (await api.request('GET', `/api/tasks/${id}`)).body.status === status,
      `task ${status}`,
    );

  describe('tasks', () => {
    it('create → run → read: status, result, progress, attempts, logs and a valid receipt chain', async () => {
      const created = await api.request('POST', '/api/tasks', {
        body: {
          name: 'Say hi',
          type: 'echo',
          payload: { hi: 1 },
          priority: 'high',
          max_retries: 2,
          timeout_seconds: 30,
        },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'Say hi',
        type: 'echo',
        priority: 10,
        max_retries: 2,
        timeout_seconds: 30,
        payload: { hi: 1 },
      });
      const id = created.body.id as string;
      await taskDone(id);
      const task = (await api.request('GET', `/api/tasks/${id}`)).body;
      expect(task).toMatchObject({
        status: 'completed',
        result: { hi: 1 },
        progress: 100,
        attempts: 1,
        error: null,
      });
      const logs = await api.request('GET', `/api/tasks/${id}/logs`);
      expect(logs.body.logs.map((l: { message: string }) => l.message)).toEqual(['echoing']);
      const receipts = await api.request('GET', `/api/tasks/${id}/receipts`);
      expect(receipts.body.valid).toBe(true);
      expect(receipts.body.receipts.map((r: { status: string }) => r.status)).toEqual([
        'enqueued',
        'started',
        'progress',
        'completed',
      ]);
      expect(receipts.body.receipts[1].previous_receipt_hash).toBe(receipts.body.receipts[0].receipt_hash);
    });

    it('agent tasks: agent_name is the handler, agent_instructions the payload', async () => {
      const r = await api.request('POST', '/api/tasks', {
        body: { name: 'Research', agent_name: 'echo', agent_instructions: 'Summarise the papers' },
      });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        type: 'echo',
        payload: { instructions: 'Summarise the papers', agent: 'echo' },
      });
      await taskDone(r.body.id);
      expect((await api.request('GET', `/api/tasks/${r.body.id}`)).body.result).toEqual({
        instructions: 'Summarise the papers',
        agent: 'echo',
      });
    });

    it('idempotency keys, delays, dependencies and budgets come through', async () => {
      const a = await api.request('POST', '/api/tasks', { body: { type: 'remote', idempotency_key: 'k1' } });
      const again = await api.request('POST', '/api/tasks', {
        body: { type: 'remote', idempotency_key: 'k1' },
      });
      expect(again.body.id).toBe(a.body.id);
      const later = await api.request('POST', '/api/tasks', { body: { type: 'echo', delay_seconds: 3600 } });
      expect(Date.parse(later.body.run_at) - Date.parse(later.body.created_at)).toBeGreaterThanOrEqual(
        3_599_000,
      );
      const child = await api.request('POST', '/api/tasks', {
        body: { type: 'echo', dependencies: [a.body.id], budget: { toolOps: 3 } },
      });
      expect(child.body).toMatchObject({
        status: 'pending',
        dependencies: [a.body.id],
        budget: { toolOps: 3 },
      });
      const missing = await api.request('POST', '/api/tasks', {
        body: { type: 'echo', dependencies: ['nope'] },
      });
      expect(missing.status).toBe(404);
    });

    it('lists with filters and cursors, newest first', async () => {
      for (let i = 0; i < 5; i++)
        await api.request('POST', '/api/tasks', { body: { type: 'remote', payload: i } });
      await api.request('POST', '/api/tasks', { body: { type: 'other-remote' } });
      const first = await api.request('GET', '/api/tasks?type=remote&limit=3');
      expect(first.body.tasks.map((t: { payload: number }) => t.payload)).toEqual([4, 3, 2]);
      const next = await api.request(
        'GET',
        `/api/tasks?type=remote&limit=3&cursor=${first.body.next_cursor}`,
      );
      expect(next.body.tasks.map((t: { payload: number }) => t.payload)).toEqual([1, 0]);
      expect(next.body.next_cursor).toBeNull();
      const queued = await api.request('GET', '/api/tasks?status=queued,running');
      expect(queued.body.tasks).toHaveLength(6);
      expect((await api.request('GET', '/api/tasks?status=completed')).body.tasks).toHaveLength(0);
    });

    it('cancel: 200 while unfinished, 409 once finished; retry: a new task that names the old one', async () => {
      const t = await api.request('POST', '/api/tasks', { body: { type: 'remote' } });
      const cancelled = await api.request('DELETE', `/api/tasks/${t.body.id}`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      const twice = await api.request('DELETE', `/api/tasks/${t.body.id}`);
      expect(twice.status).toBe(409);
      expect(twice.body.error.code).toBe('INVALID_TRANSITION');

      const retried = await api.request('POST', `/api/tasks/${t.body.id}/retry`);
      expect(retried.status).toBe(201);
      expect(retried.body).toMatchObject({ status: 'queued', retry_of: t.body.id, type: 'remote' });
      const notFinished = await api.request('POST', `/api/tasks/${retried.body.id}/retry`);
      expect(notFinished.status).toBe(409);

      const failing = await api.request('POST', '/api/tasks', { body: { type: 'boom', max_retries: 0 } });
      await taskDone(failing.body.id, 'failed');
      const f = (await api.request('GET', `/api/tasks/${failing.body.id}`)).body;
      expect(f.error).toMatchObject({ message: 'it broke' });
      expect((await api.request('POST', `/api/tasks/${failing.body.id}/retry`)).status).toBe(201);
    });
  });

  describe('remote executors', () => {
    it('register → claim → progress → complete, fenced by the lease token', async () => {
      const reg = await api.request('POST', '/api/executors', {
        body: { id: 'py-1', capabilities: ['gpu'], concurrency: 2 },
      });
      expect(reg.status).toBe(201);
      expect(reg.body).toMatchObject({ id: 'py-1', capabilities: ['gpu'], concurrency: 2 });
      const t1 = await api.request('POST', '/api/tasks', {
        body: { type: 'remote', required_capabilities: ['gpu'] },
      });
      const t2 = await api.request('POST', '/api/tasks', {
        body: { type: 'remote', required_capabilities: ['tpu'] },
      });
      const claim = await api.request('POST', '/api/executors/py-1/claim', {
        body: { types: ['remote'], limit: 5 },
      });
      expect(claim.status).toBe(200);
      expect(claim.body.tasks.map((t: { id: string }) => t.id)).toEqual([t1.body.id]);
      const task = claim.body.tasks[0];
      expect(task).toMatchObject({ status: 'running', executor_id: 'py-1' });

      const p = await api.request('POST', `/api/tasks/${task.id}/progress`, {
        body: { executor_id: 'py-1', percent: 40, message: 'warming up' },
      });
      expect(p.body.receipt).toMatchObject({ status: 'progress', progress: 40 });
      expect(
        (await api.request('POST', `/api/tasks/${task.id}/heartbeat`, { body: { executor_id: 'py-1' } }))
          .status,
      ).toBe(200);
      const stale = await api.request('POST', `/api/tasks/${task.id}/complete`, {
        body: { executor_id: 'py-1', lease_token: task.lease_token + 1, result: 'late' },
      });
      expect(stale.status).toBe(409);
      const done = await api.request('POST', `/api/tasks/${task.id}/complete`, {
        body: { executor_id: 'py-1', lease_token: task.lease_token, result: { answer: 42 } },
      });
      expect(done.status).toBe(200);
      expect(done.body.receipt.status).toBe('completed');
      expect((await api.request('GET', `/api/tasks/${task.id}`)).body).toMatchObject({
        status: 'completed',
        result: { answer: 42 },
      });
      expect((await api.request('GET', `/api/tasks/${t2.body.id}`)).body.status).toBe('queued');
      const list = await api.request('GET', '/api/executors');
      expect(list.body.executors.map((e: { id: string }) => e.id)).toContain('py-1');
    });

    it('start a chosen task, fail it retryably, then for good', async () => {
      await api.request('POST', '/api/executors', { body: { id: 'x' } });
      const t = await api.request('POST', '/api/tasks', {
        body: { type: 'remote', max_retries: 1, backoff: { type: 'fixed', base_ms: 0 } },
      });
      const started = await api.request('POST', `/api/tasks/${t.body.id}/start`, {
        body: { executor_id: 'x' },
      });
      expect(started.status).toBe(200);
      expect(started.body.receipt.status).toBe('started');
      const fail = await api.request('POST', `/api/tasks/${t.body.id}/fail`, {
        body: { executor_id: 'x', error: { message: 'flaky', code: 'E1' } },
      });
      expect(fail.body.receipt.status).toBe('retried');
      const again = await api.request('POST', `/api/tasks/${t.body.id}/start`, {
        body: { executor_id: 'x' },
      });
      expect(again.status).toBe(200);
      const last = await api.request('POST', `/api/tasks/${t.body.id}/fail`, {
        body: { executor_id: 'x', error: 'no luck', retryable: false },
      });
      expect(last.body.receipt.status).toBe('failed');
      expect((await api.request('GET', `/api/tasks/${t.body.id}`)).body.status).toBe('failed');
      const unknown = await api.request('POST', '/api/executors/ghost/claim', { body: {} });
      expect(unknown.status).toBe(404);
    });
  });

  describe('workflows', () => {
    it('incremental: create → phases → tasks → start, then status and tasks as it runs', async () => {
      const w = await api.request('POST', '/api/workflows', {
        body: { name: 'feature', description: 'auth feature', input: { ticket: 7 } },
      });
      expect(w.status).toBe(201);
      expect(w.body).toMatchObject({ status: 'draft', name: 'feature', description: 'auth feature' });
      const id = w.body.id as string;
      for (const [phase, deps] of [
        ['design', []],
        ['build', ['design']],
      ] as const) {
        const r = await api.request('POST', `/api/workflows/${id}/phases`, {
          body: { phase_id: phase, name: `${phase} phase`, depends_on: deps },
        });
        expect(r.status).toBe(201);
      }
      const design = await api.request('POST', `/api/workflows/${id}/tasks`, {
        body: {
          phase_id: 'design',
          name: 'Architecture Design',
          agent_name: 'echo',
          agent_instructions: 'design it',
        },
      });
      expect(design.status).toBe(201);
      expect(design.body.task_id).toBe('architecture-design');
      const impl = await api.request('POST', `/api/workflows/${id}/tasks`, {
        body: { phase_id: 'build', name: 'Implement', type: 'gated', dependencies: ['Architecture Design'] },
      });
      expect(impl.body.workflow.tasks.map((t: { id: string }) => t.id)).toEqual([
        'architecture-design',
        'implement',
      ]);
      const draftStatus = await api.request('GET', `/api/workflows/${id}/status`);
      expect(draftStatus.body).toMatchObject({ status: 'draft', total_tasks: 2 });

      const started = await api.request('POST', `/api/workflows/${id}/start`);
      expect(started.status).toBe(202);
      expect(started.body.status).toBe('running');
      expect((await api.request('POST', `/api/workflows/${id}/start`)).status).toBe(409);
      expect(
        (await api.request('POST', `/api/workflows/${id}/phases`, { body: { phase_id: 'late' } })).status,
      ).toBe(409);

      await waitFor(async () => {
        const c = (await api.request('GET', `/api/workflows/${id}/status`)).body.counts;
        return c.completed === 1 && c.running === 1;
      }, 'design done, implement running');
      const mid = (await api.request('GET', `/api/workflows/${id}/status`)).body;
      expect(mid.phases).toEqual([
        { phase_id: 'design', name: 'design phase', status: 'completed', total: 1, completed: 1 },
        { phase_id: 'build', name: 'build phase', status: 'running', total: 1, completed: 0 },
      ]);
      expect(mid.progress).toBe(50);
      release();
      await waitFor(
        async () => (await api.request('GET', `/api/workflows/${id}`)).body.status === 'completed',
        'workflow completed',
      );
      const tasks = await api.request('GET', `/api/workflows/${id}/tasks`);
      expect(tasks.body.tasks.map((t: { status: string }) => t.status)).toEqual(['completed', 'completed']);
      const final = (await api.request('GET', `/api/workflows/${id}`)).body;
      expect(final.tasks.map((t: { progress: number }) => t.progress)).toEqual([100, 100]);
      expect(final.results).toEqual({
        'architecture-design': { instructions: 'design it', agent: 'echo' },
        implement: 'opened',
      });
      const listed = await api.request('GET', '/api/workflows?status=completed');
      expect(listed.body.workflows.map((x: { id: string }) => x.id)).toEqual([id]);
    });

    it('one-shot with start: true runs at once; events reach waiting steps; cancel stops the rest', async () => {
      const r = await api.request('POST', '/api/workflows', {
        body: {
          name: 'approval',
          start: true,
          input: { doc: 'spec' },
          steps: [
            { id: 'draft', type: 'echo', input: '{{input.doc}}' },
            { id: 'approve', type: 'echo', deps: ['draft'], waitForEvent: { name: 'approved' } },
            { id: 'publish', type: 'echo', deps: ['approve'], input: '{{steps.approve.output}}' },
          ],
        },
      });
      expect(r.status).toBe(202);
      const id = r.body.id as string;
      await waitFor(
        async () => (await api.request('GET', `/api/workflows/${id}`)).body.results.draft === 'spec',
        'draft done',
      );
      const sent = await api.request('POST', `/api/workflows/${id}/events`, {
        body: { name: 'approved', payload: { by: 'ana' } },
      });
      expect(sent.status).toBe(202);
      expect(typeof sent.body.event_id).toBe('string');
      await waitFor(
        async () => (await api.request('GET', `/api/workflows/${id}`)).body.status === 'completed',
        'completed',
      );
      expect((await api.request('GET', `/api/workflows/${id}`)).body.results.publish).toEqual({ by: 'ana' });

      const long = await api.request('POST', '/api/workflows', {
        body: {
          name: 'long',
          start: true,
          steps: [
            { id: 'wait', type: 'gated' },
            { id: 'after', type: 'echo', deps: ['wait'] },
          ],
        },
      });
      const cancelled = await api.request('POST', `/api/workflows/${long.body.id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      expect(cancelled.body.tasks.map((t: { status: string }) => t.status)).toEqual(['cancelled', 'skipped']);
    });

    it('a one-shot workflow with tasks in the seed form; a bad definition changes nothing', async () => {
      const r = await api.request('POST', '/api/workflows', {
        body: {
          name: 'seedy',
          start: true,
          phases: [{ phase_id: 'one' }, { phase_id: 'two', depends_on: ['one'] }],
          tasks: [
            { phase_id: 'one', name: 'First', type: 'echo', payload: 1 },
            { phase_id: 'two', name: 'Second', type: 'echo', payload: 2 },
          ],
        },
      });
      expect(r.status).toBe(202);
      await waitFor(
        async () => (await api.request('GET', `/api/workflows/${r.body.id}`)).body.status === 'completed',
        'completed',
      );
      const before = (await api.request('GET', '/api/workflows')).body.workflows.length;
      const bad = await api.request('POST', '/api/workflows', {
        body: {
          name: 'bad',
          start: true,
          steps: [
            { id: 'a', type: 'echo', deps: ['b'] },
            { id: 'b', type: 'echo', deps: ['a'] },
          ],
        },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('CYCLE');
      const badDraft = await api.request('POST', '/api/workflows', {
        body: {
          name: 'bad',
          steps: [
            { id: 'a', type: 'echo' },
            { id: 'b', type: 'echo', deps: ['zzz'] },
          ],
        },
      });
      expect(badDraft.status).toBe(400);
      expect(badDraft.body.error.details.issues[0].field).toBe('steps[1].deps');
      expect((await api.request('GET', '/api/workflows')).body.workflows.length).toBe(before);
    });
  });

  describe('system', () => {
    it('health, Prometheus metrics, the OpenAPI document and the docs page', async () => {
      const health = await api.request('GET', '/health');
      expect(health.body).toMatchObject({ status: 'ok', store: { backend: backend.name, reachable: true } });
      const t = await api.request('POST', '/api/tasks', { body: { type: 'echo' } });
      await taskDone(t.body.id);
      await api.request('POST', '/api/tasks', { body: { type: 'remote' } });
      await waitFor(
        async () => /conveyor_completions_total [1-9]/.test((await api.request('GET', '/metrics')).text),
        'completion counted',
      );
      const metrics = (await api.request('GET', '/metrics')).text;
      expect(metrics).toMatch(/conveyor_items\{status="queued"\} 1/);
      expect(metrics).toMatch(/conveyor_items\{status="completed"\} 1/);
      expect(metrics).toMatch(/conveyor_claims_total [1-9]/);
      expect(metrics).toMatch(/conveyor_item_run_seconds_count [1-9]/);
      expect(metrics).toMatch(
        /conveyor_http_request_seconds_count\{method="POST",route="\/api\/tasks",status="201"\}/,
      );

      const doc = await api.request('GET', '/openapi.json');
      expect(doc.body.openapi).toMatch(/^3\./);
      for (const path of [
        '/api/tasks',
        '/api/tasks/{id}/receipts',
        '/api/workflows/{id}/phases',
        '/api/events',
      ])
        expect(Object.keys(doc.body.paths)).toContain(path);
      const create = doc.body.paths['/api/tasks'].post;
      expect(create.requestBody.content['application/json'].schema.properties).toHaveProperty('webhook_url');
      const docs = await api.request('GET', '/docs');
      expect(docs.status).toBe(200);
      expect(docs.text).toMatch(/swagger/i);
      const unknown = await api.request('GET', '/api/nothing-here');
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('NOT_FOUND');
    });
  });
});
