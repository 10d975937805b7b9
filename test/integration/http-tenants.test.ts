/**
 * The HTTP API with API keys (CONTRACT §6): two tenants, acme and globex, over one real
 * server. Every request needs `Authorization: Bearer <key>` (the API's description is the
 * only thing readable without one); a tenant never sees, changes or even learns of the
 * existence of another tenant's tasks, workflows, drafts, executors, events or webhook
 * deliveries: each of those answers 404 exactly as an id that does not exist. The rate
 * limit counts per key, and a server without keys listens on loopback only.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseApiKeys } from '../../src/server.js';
import { readSse, startTestApi, type Answer, type SseEvent, type TestApi } from '../helpers/api-server.js';
import { waitFor } from '../helpers/conveyors.js';

const KEY_A = 'key-of-tenant-a-000000';
const KEY_B = 'key-of-tenant-b-000000';
const apiKeys = () => parseApiKeys(`${KEY_A}:acme,${KEY_B}:globex`);

const opened: TestApi[] = [];
async function start(options: Parameters<typeof startTestApi>[0] = {}): Promise<TestApi> {
  const api = await startTestApi(options);
  opened.push(api);
  return api;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((a) => a.close()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Like `api.request`, but an event stream (a 200 on /api/events) is not read to its end:
 * the answer is `{ status, body: { stream: true } }`, so a missing check fails instead of
 * hanging the test.
 */
async function call(
  api: TestApi,
  method: string,
  path: string,
  o: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  if (!path.startsWith('/api/events')) return api.request(method, path, o);
  const headers: Record<string, string> = { ...o.headers };
  if (o.key !== undefined) headers.authorization = `Bearer ${o.key}`;
  const res = await fetch(api.url + path, { method, headers, signal: AbortSignal.timeout(5000) });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, headers: res.headers, body: { stream: true }, text: '' };
  }
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text), text };
}

/** The error of an answer with `id` replaced, to compare answers about different ids. */
const errorShape = (answer: Answer, id: string) =>
  JSON.parse(
    JSON.stringify(answer.body?.error ?? answer.body)
      .split(id)
      .join('<id>'),
  ) as unknown;

describe('tenants over API keys', () => {
  let api: TestApi;
  const as =
    (key: string) =>
    (method: string, path: string, body?: unknown): Promise<Answer> =>
      call(api, method, path, { key, body });
  const acme = as(KEY_A);
  const globex = as(KEY_B);

  beforeEach(async () => {
    api = await start({ config: { apiKeys: apiKeys() } });
  });

  /** A task of acme, created over the API; fails the test unless it was created. */
  async function acmeTask(body: Record<string, unknown>): Promise<any> {
    const r = await acme('POST', '/api/tasks', body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  }

  const total = async () => Object.values(await api.cv.getCounts()).reduce((a, b) => a + b, 0);

  it('refuses every API route without a valid Bearer key (401 UNAUTHORIZED); the docs are public', async () => {
    const task = await acmeTask({ type: 'remote-only' });
    const draft = await acme('POST', '/api/workflows', { name: 'draft' });
    expect(draft.status).toBe(201);
    const id = task.id as string;
    const wf = draft.body.id as string;
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/health'],
      ['GET', '/metrics'],
      ['GET', '/api/events'],
      ['GET', `/api/events?task_id=${id}`],
      ['GET', `/api/events?workflow_id=${wf}`],
      ['POST', '/api/tasks', { type: 'noop' }],
      ['GET', '/api/tasks'],
      ['GET', `/api/tasks/${id}`],
      ['DELETE', `/api/tasks/${id}`],
      ['POST', `/api/tasks/${id}/retry`],
      ['GET', `/api/tasks/${id}/logs`],
      ['GET', `/api/tasks/${id}/receipts`],
      ['POST', `/api/tasks/${id}/start`, { executor_id: 'w1' }],
      ['POST', `/api/tasks/${id}/progress`, { executor_id: 'w1', percent: 10 }],
      ['POST', `/api/tasks/${id}/heartbeat`, { executor_id: 'w1' }],
      ['POST', `/api/tasks/${id}/complete`, { executor_id: 'w1' }],
      ['POST', `/api/tasks/${id}/fail`, { executor_id: 'w1', error: 'x' }],
      ['POST', '/api/workflows', { name: 'wf', start: true, steps: [{ id: 'a', type: 'noop' }] }],
      ['GET', '/api/workflows'],
      ['GET', `/api/workflows/${wf}`],
      ['GET', `/api/workflows/${wf}/status`],
      ['GET', `/api/workflows/${wf}/tasks`],
      ['POST', `/api/workflows/${wf}/phases`, { phase_id: 'p1' }],
      ['POST', `/api/workflows/${wf}/tasks`, { name: 't', type: 'noop' }],
      ['POST', `/api/workflows/${wf}/start`],
      ['POST', `/api/workflows/${wf}/cancel`],
      ['POST', `/api/workflows/${wf}/events`, { name: 'go' }],
      ['POST', '/api/executors', { id: 'w1' }],
      ['GET', '/api/executors'],
      ['POST', '/api/executors/w1/claim', {}],
      ['GET', `/api/webhooks/${id}/history`],
      ['GET', '/api/webhooks/secret'],
      ['GET', '/api/no-such-route'],
    ];
    const before = await total();
    const executorsBefore = (await api.cv.listExecutors()).map((e) => e.id).sort();
    const badHeaders: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer key-of-nobody-0000000000' },
      { authorization: `Basic ${Buffer.from(`${KEY_A}:`).toString('base64')}` },
      { authorization: `Basic ${KEY_A}` },
      { authorization: KEY_A },
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${KEY_A} ${KEY_A}` },
      { authorization: `Bearer ${KEY_A.slice(0, -1)}` },
    ];
    for (const headers of badHeaders) {
      for (const [method, path, body] of routes) {
        const r = await call(api, method, path, { body, headers });
        expect(r.status, `${method} ${path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(r.body, `${method} ${path}`).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
        expect(typeof r.body.error.message).toBe('string');
      }
    }
    // Nothing was created, cancelled, registered or started by any of them.
    expect(await total()).toBe(before);
    expect((await api.cv.listExecutors()).map((e) => e.id).sort()).toEqual(executorsBefore);
    expect((await acme('GET', `/api/tasks/${id}`)).body.status).toBe('queued');
    expect((await acme('GET', `/api/workflows/${wf}`)).body).toMatchObject({ status: 'draft', phases: [] });

    // The API's description holds no tenant's data: readable without a key.
    const doc = await api.request('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/tasks', '/api/workflows']));
    expect(doc.body.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const docs = await api.request('GET', '/docs');
    expect(docs.status).toBe(200);
    expect(docs.text).toMatch(/<html/i);
    // The right key still works, on the same routes.
    expect((await acme('GET', '/health')).status).toBe(200);
    expect((await acme('GET', '/metrics')).text).toMatch(/# (HELP|TYPE) /);
  });

  it("answers 404 NOT_FOUND for another tenant's objects on every route that takes an id, exactly as for an unknown id, and changes nothing", async () => {
    // acme's objects: a queued task, a task running under acme's executor w1, a cancelled
    // task (retryable), a draft with one phase and one task, and a started workflow.
    expect((await acme('POST', '/api/executors', { id: 'w1', capabilities: [] })).status).toBe(201);
    expect((await globex('POST', '/api/executors', { id: 'w1', capabilities: [] })).status).toBe(201);
    const queued = await acmeTask({ type: 'remote-only', name: 'queued' });
    const running = await acmeTask({ type: 'remote-run', name: 'running' });
    const claim = await acme('POST', '/api/executors/w1/claim', { types: ['remote-run'], limit: 1 });
    expect(claim.body.tasks.map((t: any) => t.id)).toEqual([running.id]);
    const leased = claim.body.tasks[0];
    const cancelled = await acmeTask({ type: 'remote-only', name: 'cancelled' });
    expect((await acme('DELETE', `/api/tasks/${cancelled.id}`)).body.status).toBe('cancelled');
    const draft = (await acme('POST', '/api/workflows', { name: 'draft' })).body;
    expect((await acme('POST', `/api/workflows/${draft.id}/phases`, { phase_id: 'p1' })).status).toBe(201);
    expect(
      (await acme('POST', `/api/workflows/${draft.id}/tasks`, { name: 't1', type: 'noop', phase_id: 'p1' }))
        .status,
    ).toBe(201);
    const started = await acme('POST', '/api/workflows', {
      name: 'started',
      start: true,
      steps: [{ id: 's1', type: 'remote-only' }],
    });
    expect(started.status).toBe(202);
    const run = started.body;
    const stepTask = run.tasks[0].task_id as string;

    const taskRoutes = (id: string): Array<[string, string, unknown?]> => [
      ['GET', `/api/tasks/${id}`],
      ['DELETE', `/api/tasks/${id}`],
      ['POST', `/api/tasks/${id}/retry`],
      ['GET', `/api/tasks/${id}/logs`],
      ['GET', `/api/tasks/${id}/receipts`],
      ['POST', `/api/tasks/${id}/start`, { executor_id: 'w1' }],
      ['POST', `/api/tasks/${id}/progress`, { executor_id: 'w1', percent: 99, message: 'globex was here' }],
      ['POST', `/api/tasks/${id}/heartbeat`, { executor_id: 'w1' }],
      ['POST', `/api/tasks/${id}/complete`, { executor_id: 'w1', result: { stolen: true } }],
      ['POST', `/api/tasks/${id}/complete`, { executor_id: 'w1', lease_token: leased.lease_token }],
      ['POST', `/api/tasks/${id}/fail`, { executor_id: 'w1', error: 'sabotage', retryable: false }],
      ['GET', `/api/webhooks/${id}/history`],
      ['GET', `/api/events?task_id=${id}`],
    ];
    const workflowRoutes = (id: string): Array<[string, string, unknown?]> => [
      ['GET', `/api/workflows/${id}`],
      ['GET', `/api/workflows/${id}/status`],
      ['GET', `/api/workflows/${id}/tasks`],
      ['POST', `/api/workflows/${id}/phases`, { phase_id: 'evil', name: 'evil' }],
      ['POST', `/api/workflows/${id}/tasks`, { name: 'evil', type: 'noop' }],
      ['POST', `/api/workflows/${id}/start`],
      ['POST', `/api/workflows/${id}/cancel`],
      ['POST', `/api/workflows/${id}/events`, { name: 'go', payload: { x: 1 } }],
      ['GET', `/api/webhooks/${id}/history`],
      ['GET', `/api/events?workflow_id=${id}`],
    ];
    const cases: Array<[string, Array<[string, string, unknown?]>, Array<[string, string, unknown?]>]> = [];
    for (const id of [queued.id, running.id, cancelled.id, stepTask]) {
      const unknown = randomUUID();
      cases.push([id, taskRoutes(id), taskRoutes(unknown)], [unknown, taskRoutes(unknown), []]);
    }
    for (const id of [draft.id, run.id]) {
      const unknown = randomUUID();
      cases.push([id, workflowRoutes(id), workflowRoutes(unknown)], [unknown, workflowRoutes(unknown), []]);
    }
    let checked = 0;
    for (let c = 0; c < cases.length; c += 2) {
      const [id, theirs, unknownRoutes] = cases[c]!;
      const [unknownId] = cases[c + 1]!;
      for (const [i, [method, path, body]] of theirs.entries()) {
        const [uMethod, uPath, uBody] = unknownRoutes[i]!;
        const mine = await globex(method, path, body);
        const none = await globex(uMethod, uPath, uBody);
        expect(none.status, `${uMethod} ${uPath}`).toBe(404);
        expect(none.body.error.code).toBe('NOT_FOUND');
        expect(mine.status, `${method} ${path}: ${JSON.stringify(mine.body)}`).toBe(404);
        expect(mine.body.error.code, `${method} ${path}`).toBe('NOT_FOUND');
        // Not even the message or its details tell an existing id from an unknown one.
        expect(errorShape(mine, id), `${method} ${path}`).toEqual(errorShape(none, unknownId));
        checked++;
      }
    }
    expect(checked).toBe(4 * 13 + 2 * 10);

    // acme's objects are as they were.
    const q = (await acme('GET', `/api/tasks/${queued.id}`)).body;
    expect(q).toMatchObject({ status: 'queued', executor_id: null, attempts: 0 });
    const r = (await acme('GET', `/api/tasks/${running.id}`)).body;
    expect(r).toMatchObject({
      status: 'running',
      executor_id: 'acme/w1',
      lease_token: leased.lease_token,
      progress: 0,
      progress_message: null,
      result: null,
      error: null,
    });
    expect((await acme('GET', `/api/tasks/${cancelled.id}`)).body.status).toBe('cancelled');
    const d = (await acme('GET', `/api/workflows/${draft.id}`)).body;
    expect(d.status).toBe('draft');
    expect(d.phases.map((p: any) => p.phase_id)).toEqual(['p1']);
    expect(d.tasks.map((t: any) => t.id)).toEqual(['t1']);
    const w = (await acme('GET', `/api/workflows/${run.id}`)).body;
    expect(w.status).toBe('running');
    expect(w.phases).toEqual([]);
    expect(w.tasks.map((t: any) => [t.id, t.status])).toEqual([['s1', 'queued']]);
    const receipts = (await acme('GET', `/api/tasks/${running.id}/receipts`)).body;
    expect(receipts.valid).toBe(true);
    expect(receipts.receipts.map((x: any) => x.status)).not.toContain('completed');
    // No retry was made of the cancelled task, for either tenant.
    const all = (await acme('GET', '/api/tasks?limit=1000')).body.tasks;
    expect(all.filter((t: any) => t.retry_of !== null)).toEqual([]);
    expect(all).toHaveLength(4);
    expect((await globex('GET', '/api/tasks')).body.tasks).toEqual([]);
    expect((await globex('GET', '/api/workflows')).body.workflows).toEqual([]);
  });

  it("lists only the tenant's own tasks and workflows; a task cannot depend on another tenant's", async () => {
    const a1 = await acmeTask({ type: 'remote-only', name: 'a1' });
    const a2 = await acmeTask({ type: 'remote-only', name: 'a2' });
    const aRun = await acme('POST', '/api/workflows', {
      name: 'acme-wf',
      start: true,
      steps: [{ id: 's1', type: 'remote-only' }],
    });
    expect(aRun.status).toBe(202);
    const g1 = await globex('POST', '/api/tasks', { type: 'remote-only', name: 'g1' });
    expect(g1.status).toBe(201);
    const gRun = await globex('POST', '/api/workflows', {
      name: 'globex-wf',
      start: true,
      steps: [{ id: 's1', type: 'remote-only' }],
    });
    expect(gRun.status).toBe(202);
    const gStep = gRun.body.tasks[0].task_id as string;

    const ids = (r: Answer) => (r.body.tasks as any[]).map((t) => t.id as string).sort();
    expect(ids(await globex('GET', '/api/tasks'))).toEqual([g1.body.id, gStep].sort());
    expect(ids(await globex('GET', '/api/tasks?type=remote-only&status=queued'))).toEqual(
      [g1.body.id, gStep].sort(),
    );
    expect(ids(await globex('GET', `/api/tasks?workflow_id=${aRun.body.id}`))).toEqual([]);
    expect(ids(await acme('GET', '/api/tasks'))).toEqual([a1.id, a2.id, aRun.body.tasks[0].task_id].sort());
    // Paging walks only the tenant's own.
    const page1 = await globex('GET', '/api/tasks?limit=1');
    expect(page1.body.tasks).toHaveLength(1);
    const page2 = await globex('GET', `/api/tasks?limit=1&cursor=${page1.body.next_cursor}`);
    const seen = [...ids(page1), ...ids(page2)];
    expect(seen.sort()).toEqual([g1.body.id, gStep].sort());
    const wfs = (r: Answer) => (r.body.workflows as any[]).map((w) => w.id as string);
    expect(wfs(await globex('GET', '/api/workflows'))).toEqual([gRun.body.id]);
    expect(wfs(await acme('GET', '/api/workflows'))).toEqual([aRun.body.id]);

    // A dependency on acme's task: 404, and nothing is created.
    const before = ids(await globex('GET', '/api/tasks'));
    for (const dependencies of [[a1.id], [g1.body.id, a1.id], [aRun.body.tasks[0].task_id]]) {
      const r = await globex('POST', '/api/tasks', { type: 'noop', dependencies });
      expect(r.status, JSON.stringify(r.body)).toBe(404);
      expect(r.body.error.code).toBe('NOT_FOUND');
    }
    expect(ids(await globex('GET', '/api/tasks'))).toEqual(before);
    expect((await acme('GET', `/api/tasks/${a1.id}`)).body.status).toBe('queued');
    // The same body with its own task as dependency works (the 404 is about the tenant).
    expect(
      (await globex('POST', '/api/tasks', { type: 'remote-only', dependencies: [g1.body.id] })).status,
    ).toBe(201);
  });

  it("answers a dependency on another tenant's task exactly as one on an unknown id", async () => {
    const a1 = await acmeTask({ type: 'remote-only' });
    const unknown = randomUUID();
    const theirs = await globex('POST', '/api/tasks', { type: 'noop', dependencies: [a1.id] });
    const none = await globex('POST', '/api/tasks', { type: 'noop', dependencies: [unknown] });
    expect(none.status).toBe(404);
    expect(theirs.status).toBe(404);
    // A different message for the two would tell globex that acme's id exists.
    expect(errorShape(theirs, a1.id)).toEqual(errorShape(none, unknown));
  });

  it('keeps executors per tenant: same id, separate executors; claims take only their own tenant’s tasks', async () => {
    const ra = await acme('POST', '/api/executors', { id: 'w1', capabilities: ['gpu'], concurrency: 3 });
    expect(ra.status).toBe(201);
    expect(ra.body).toMatchObject({ capabilities: ['gpu'], concurrency: 3 });
    const rg = await globex('POST', '/api/executors', { id: 'w1', capabilities: ['cpu'], concurrency: 7 });
    expect(rg.status).toBe(201);
    expect(rg.body).toMatchObject({ capabilities: ['cpu'], concurrency: 7 });
    expect(rg.body.id).not.toBe(ra.body.id);
    const rg2 = await globex('POST', '/api/executors', { id: 'w2' });
    expect(rg2.status).toBe(201);

    const list = async (f: typeof acme) => (await f('GET', '/api/executors')).body.executors as any[];
    const mine = await list(acme);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ id: ra.body.id, capabilities: ['gpu'], concurrency: 3 });
    const theirs = await list(globex);
    expect(theirs.map((e) => e.id).sort()).toEqual([rg.body.id, rg2.body.id].sort());
    expect(theirs.find((e) => e.id === rg.body.id)).toMatchObject({ capabilities: ['cpu'], concurrency: 7 });
    expect(theirs.map((e) => e.id)).not.toContain(ra.body.id);

    const tasks = await Promise.all([1, 2, 3].map((n) => acmeTask({ type: 'remote-only', name: `a${n}` })));
    for (const body of [{}, { limit: 10 }, { types: ['remote-only'], limit: 10 }]) {
      const g = await globex('POST', '/api/executors/w1/claim', body);
      expect(g.status).toBe(200);
      expect(g.body.tasks).toEqual([]);
    }
    for (const t of tasks) expect((await acme('GET', `/api/tasks/${t.id}`)).body.status).toBe('queued');
    const a = await acme('POST', '/api/executors/w1/claim', { limit: 10 });
    expect(a.status).toBe(200);
    expect((a.body.tasks as any[]).map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort());
    for (const t of a.body.tasks as any[]) expect(t.executor_id).toBe(ra.body.id);
    // acme's executor holds them: globex's w1 cannot report on them.
    const leased = a.body.tasks[0];
    const c = await globex('POST', `/api/tasks/${leased.id}/complete`, {
      executor_id: 'w1',
      lease_token: leased.lease_token,
    });
    expect(c.status).toBe(404);
    const done = await acme('POST', `/api/tasks/${leased.id}/complete`, {
      executor_id: 'w1',
      lease_token: leased.lease_token,
      result: { ok: true },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect((await acme('GET', `/api/tasks/${leased.id}`)).body).toMatchObject({
      status: 'completed',
      result: { ok: true },
    });
    // acme's executor is still acme's own after globex re-registered its w1.
    expect((await list(acme))[0]).toMatchObject({ capabilities: ['gpu'], concurrency: 3 });
  });

  it("never sends one tenant's events on another tenant's unfiltered stream", async () => {
    /** An open unfiltered stream of `key`, read until `stop` holds; `events` is live. */
    const open = (key: string, stop: (events: SseEvent[]) => boolean) => {
      let live: SseEvent[] = [];
      const done = readSse(
        `${api.url}/api/events`,
        (events) => {
          live = events;
          return stop(events);
        },
        { headers: { authorization: `Bearer ${key}` }, timeoutMs: 20_000 },
      );
      return {
        done,
        get events() {
          return live;
        },
      };
    };
    /** Creates tasks of `key` until `stream` shows one: the subscription is live from then on. */
    async function warmUp(key: string, stream: { events: SseEvent[] }): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) {
        const t = await api.request('POST', '/api/tasks', { key, body: { type: 'noop', name: 'warmup' } });
        ids.push(t.body.id as string);
        await sleep(50);
        if (stream.events.some((e) => ids.includes(e.data.task_id as string))) return ids;
      }
      throw new Error('the event stream never showed a warm-up task');
    }

    /** Set as the test goes; the streams' stop conditions read them. */
    const known: { globexFinal?: string; acmeWf?: string } = {};
    const acmeIds = new Set<string>();
    let acmeAll = false;
    const gStream = open(KEY_B, (evs) =>
      evs.some((e) => e.event === 'task_queued' && e.data.task_id === known.globexFinal),
    );
    const aStream = open(
      KEY_A,
      (evs) =>
        acmeAll &&
        [...acmeIds].every((id) => evs.some((e) => e.event === 'task_complete' && e.data.task_id === id)) &&
        evs.some((e) => e.event === 'workflow_complete' && e.data.workflow_id === known.acmeWf),
    );
    const gWarm = await warmUp(KEY_B, gStream);
    await warmUp(KEY_A, aStream);

    // acme's tasks (they run: queued, start, complete) and a workflow of acme.
    for (let n = 0; n < 5; n++) acmeIds.add((await acmeTask({ type: 'noop', payload: { n } })).id as string);
    const wf = await acme('POST', '/api/workflows', {
      name: 'acme-wf',
      start: true,
      steps: [{ id: 'a', type: 'noop' }],
    });
    expect(wf.status).toBe(202);
    known.acmeWf = wf.body.id as string;
    acmeAll = true;
    await waitFor(
      async () => (await acme('GET', `/api/workflows/${wf.body.id}`)).body.status === 'completed',
      'acme workflow completed',
    );
    for (const id of acmeIds)
      await waitFor(
        async () => (await acme('GET', `/api/tasks/${id}`)).body.status === 'completed',
        `acme task ${id} completed`,
      );
    const g = await globex('POST', '/api/tasks', { type: 'remote-only', name: 'final' });
    expect(g.status).toBe(201);
    known.globexFinal = g.body.id as string;
    // The until callbacks run when a frame arrives; a ping-free stream needs one more event.
    await globex('POST', '/api/tasks', { type: 'remote-only', name: 'nudge' });

    const [gRes, aRes] = await Promise.all([gStream.done, aStream.done]);
    expect(gRes.status).toBe(200);
    const gEvents = gRes.events;
    expect(gEvents.some((e) => e.event === 'task_queued' && e.data.task_id === known.globexFinal)).toBe(true);
    expect(gEvents.some((e) => gWarm.includes(e.data.task_id as string))).toBe(true);
    const acmeWfStep = wf.body.tasks[0].task_id as string;
    const leaked = gEvents.filter(
      (e) =>
        acmeIds.has(e.data.task_id as string) ||
        e.data.task_id === acmeWfStep ||
        e.data.workflow_id === wf.body.id,
    );
    expect(leaked).toEqual([]);
    // Every event on globex's stream is about a task of globex.
    const globexTasks = new Set(
      ((await globex('GET', '/api/tasks?limit=1000')).body.tasks as any[]).map((t) => t.id as string),
    );
    for (const e of gEvents) expect(globexTasks.has(e.data.task_id as string), JSON.stringify(e)).toBe(true);
    // acme's stream did carry acme's events, in the same window (so there were some to leak).
    expect(aRes.status).toBe(200);
    for (const id of acmeIds)
      expect(aRes.events.some((e) => e.event === 'task_complete' && e.data.task_id === id)).toBe(true);
    expect(aRes.events.some((e) => e.data.workflow_id === wf.body.id)).toBe(true);
    expect(aRes.events.some((e) => e.data.task_id === known.globexFinal)).toBe(false);
  });

  it('gives each tenant its own webhook signing secret', async () => {
    const a = await acme('GET', '/api/webhooks/secret');
    const g = await globex('GET', '/api/webhooks/secret');
    expect(a.status).toBe(200);
    expect(g.status).toBe(200);
    expect(a.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{16,}$/);
    expect(g.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{16,}$/);
    expect(a.body.secret).not.toBe(g.body.secret);
    // Stable: the same secret on every call.
    expect((await acme('GET', '/api/webhooks/secret')).body.secret).toBe(a.body.secret);
    expect((await globex('GET', '/api/webhooks/secret')).body.secret).toBe(g.body.secret);
  });
});

describe('rate limit and listening address', () => {
  it('limits requests per key: the 6th of acme is 429 RATE_LIMITED with retry-after, globex still passes', async () => {
    const api = await start({ config: { apiKeys: apiKeys(), rateLimit: { max: 5, windowMs: 60_000 } } });
    for (let i = 0; i < 5; i++) {
      const r = await api.request('GET', '/api/tasks', { key: KEY_A });
      expect(r.status, `request ${i + 1}`).toBe(200);
    }
    const limited = await api.request('GET', '/api/tasks', { key: KEY_A });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(typeof limited.body.error.message).toBe('string');
    const retryAfter = limited.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    // A POST is limited too, and is not carried out.
    const post = await api.request('POST', '/api/tasks', { key: KEY_A, body: { type: 'remote-only' } });
    expect(post.status).toBe(429);
    expect(Object.values(await api.cv.getCounts()).reduce((a, b) => a + b, 0)).toBe(0);

    const other = await api.request('GET', '/api/tasks', { key: KEY_B });
    expect(other.status).toBe(200);
    expect(other.body.tasks).toEqual([]);
    expect((await api.request('GET', '/api/tasks', { key: KEY_A })).status).toBe(429);
  });

  it('listens on 127.0.0.1 without keys even when asked for 0.0.0.0, and says so', async () => {
    const lines: string[] = [];
    const api = await start({ config: { host: '0.0.0.0' }, announce: (l) => lines.push(l) });
    expect(api.server.host).toBe('127.0.0.1');
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const address = api.server.app.server.address();
    expect(typeof address === 'object' && address?.address).toBe('127.0.0.1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(api.url);
    expect(lines[0]).toMatch(/loopback only/);
    expect(lines[0]).toContain('0.0.0.0');
    expect((await api.request('GET', '/health')).status).toBe(200);

    // Asked for loopback, it says loopback only too (and with keys it names the tenants).
    const lines2: string[] = [];
    await start({ announce: (l) => lines2.push(l) });
    expect(lines2[0]).toMatch(/loopback only/);
    const lines3: string[] = [];
    await start({ config: { apiKeys: apiKeys() }, announce: (l) => lines3.push(l) });
    expect(lines3[0]).toMatch(/2 tenant\(s\)/);
  });
});
