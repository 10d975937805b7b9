/**
 * The HTTP API (CONTRACT §6) fed what a careless or hostile client sends: bodies over the
 * limit, text that is not JSON or nests without end, prototype-poisoning keys, wrong
 * types, unknown fields, ids and queries out of shape, requests that the state of a task
 * or workflow forbids, and a few thousand random bodies. Each is a 4xx with the error body
 * `{ error: { code, message, details? } }` naming what was wrong, none changes anything,
 * and no answer in this file is a 5xx.
 */
import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type Answer, type TestApi } from '../helpers/api-server.js';
import { waitFor } from '../helpers/conveyors.js';

/** Every answer of this file: [status, what was asked]. */
const seen: Array<[number, string]> = [];

type RequestOptions = { body?: unknown; raw?: string | Buffer; headers?: Record<string, string> };

async function req(api: TestApi, method: string, path: string, o: RequestOptions = {}): Promise<Answer> {
  const r = await api.request(method, path, o);
  seen.push([r.status, `${method} ${path.slice(0, 120)}`]);
  return r;
}

/** Asserts a 400 VALIDATION answer whose first issue names `field`. */
function expectValidation(r: Answer, field: string | RegExp, what: string): void {
  expect(r.status, `${what}: ${r.text.slice(0, 300)}`).toBe(400);
  expect(r.body?.error?.code, what).toBe('VALIDATION');
  expect(typeof r.body.error.message, what).toBe('string');
  const first = r.body.error.details?.issues?.[0]?.field as unknown;
  if (typeof field === 'string') expect(first, `${what}: ${r.text.slice(0, 300)}`).toBe(field);
  else expect(first, `${what}: ${r.text.slice(0, 300)}`).toMatch(field);
}

/** Asserts the error body of CONTRACT §6. */
function expectErrorBody(r: Answer, what: string): void {
  expect(r.body, `${what}: ${r.text.slice(0, 300)}`).toMatchObject({
    error: { code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String) },
  });
}

let api: TestApi;
/** Fixtures: a draft with one phase and one task, a running workflow, executor w1 holding a task. */
const fx = {} as {
  draft: string;
  run: string;
  queued: string;
  running: string;
  lease: number;
};

async function ok(r: Promise<Answer>, status: number): Promise<any> {
  const a = await r;
  expect(a.status, a.text.slice(0, 300)).toBe(status);
  return a.body;
}

beforeAll(async () => {
  // The file sends a few thousand requests from one address: over the default limit (1000/min).
  api = await startTestApi({ config: { rateLimit: { max: 1_000_000, windowMs: 60_000 } } });
  const draft = await ok(req(api, 'POST', '/api/workflows', { body: { name: 'draft' } }), 201);
  fx.draft = draft.id;
  await ok(req(api, 'POST', `/api/workflows/${fx.draft}/phases`, { body: { phase_id: 'p1' } }), 201);
  await ok(
    req(api, 'POST', `/api/workflows/${fx.draft}/tasks`, {
      body: { name: 't1', type: 'noop', phase_id: 'p1' },
    }),
    201,
  );
  const run = await ok(
    req(api, 'POST', '/api/workflows', {
      body: { name: 'run', start: true, steps: [{ id: 's1', type: 'remote-only' }] },
    }),
    202,
  );
  fx.run = run.id;
  fx.queued = (await ok(req(api, 'POST', '/api/tasks', { body: { type: 'remote-only' } }), 201)).id;
  await ok(
    req(api, 'POST', '/api/executors', { body: { id: 'w1', capabilities: ['x'], concurrency: 2 } }),
    201,
  );
  fx.running = (await ok(req(api, 'POST', '/api/tasks', { body: { type: 'remote-run' } }), 201)).id;
  const claim = await ok(
    req(api, 'POST', '/api/executors/w1/claim', { body: { types: ['remote-run'], limit: 1 } }),
    200,
  );
  expect(claim.tasks.map((t: any) => t.id)).toEqual([fx.running]);
  fx.lease = claim.tasks[0].lease_token;
});

afterAll(async () => {
  await api?.close();
});

/** What the bad requests must not change: tasks, workflows, the draft, executors. */
async function snapshot(): Promise<unknown> {
  const tasks = (await req(api, 'GET', '/api/tasks?limit=1000')).body.tasks as any[];
  const workflows = (await req(api, 'GET', '/api/workflows?limit=1000')).body.workflows as any[];
  const draft = (await req(api, 'GET', `/api/workflows/${fx.draft}`)).body;
  const executors = (await req(api, 'GET', '/api/executors')).body.executors as any[];
  return {
    tasks: tasks.map((t) => [t.id, t.type, t.status, t.progress, t.executor_id, t.lease_token, t.result]),
    workflows: workflows.map((w) => [w.id, w.status]),
    draft: [draft.status, draft.phases, draft.tasks],
    executors: executors.map((e) => [e.id, e.capabilities, e.concurrency]).sort(),
  };
}

/** POST routes with the body each accepts (for routes that take an id, the fixture's). */
function postRoutes(): Array<{ path: string; valid: Record<string, unknown> | null }> {
  return [
    { path: '/api/tasks', valid: { type: 'remote-only', payload: { a: 1 } } },
    { path: '/api/workflows', valid: { name: 'wf', steps: [{ id: 'a', type: 'noop' }] } },
    { path: `/api/workflows/${fx.draft}/phases`, valid: { phase_id: 'p9', name: 'nine' } },
    { path: `/api/workflows/${fx.draft}/tasks`, valid: { name: 'more', type: 'noop' } },
    { path: `/api/workflows/${fx.run}/events`, valid: { name: 'go', payload: { x: 1 } } },
    { path: '/api/executors', valid: { id: 'w9', capabilities: ['y'], concurrency: 1 } },
    { path: '/api/executors/w1/claim', valid: { types: ['nothing-of-this-type'], limit: 1 } },
    { path: `/api/tasks/${fx.running}/start`, valid: { executor_id: 'w1' } },
    { path: `/api/tasks/${fx.running}/progress`, valid: { executor_id: 'w1', percent: 10 } },
    { path: `/api/tasks/${fx.running}/heartbeat`, valid: { executor_id: 'w1' } },
    { path: `/api/tasks/${fx.running}/complete`, valid: { executor_id: 'w1', result: 1 } },
    { path: `/api/tasks/${fx.running}/fail`, valid: { executor_id: 'w1', error: 'x' } },
    { path: `/api/tasks/${fx.queued}/retry`, valid: null },
    { path: `/api/workflows/${fx.draft}/start`, valid: null },
    { path: `/api/workflows/${fx.run}/cancel`, valid: null },
  ];
}

describe('bodies too large', () => {
  it('refuses a body over the limit with 413 PAYLOAD_TOO_LARGE and creates nothing', async () => {
    const small = await startTestApi({ config: { bodyLimit: 2048 } });
    try {
      const body = (size: number) => {
        const text = JSON.stringify({ type: 'remote-only', payload: { pad: '' } });
        return text.replace('"pad":""', `"pad":"${'x'.repeat(size - text.length)}"`);
      };
      expect(Buffer.byteLength(body(3000))).toBe(3000);
      const r = await req(small, 'POST', '/api/tasks', { raw: body(3000) });
      expect(r.status, r.text).toBe(413);
      expect(r.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expectErrorBody(r, 'oversized');
      // Sent in chunks without a content-length: refused as well.
      const chunked = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const u = new URL(small.url);
        const q = httpRequest(
          {
            host: u.hostname,
            port: u.port,
            path: '/api/tasks',
            method: 'POST',
            headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        q.on('error', reject);
        const all = body(3000);
        for (let i = 0; i < all.length; i += 500) q.write(all.slice(i, i + 500));
        q.end();
      });
      seen.push([chunked.status, 'POST /api/tasks (chunked)']);
      expect(chunked.status, chunked.text).toBe(413);
      expect(JSON.parse(chunked.text).error.code).toBe('PAYLOAD_TOO_LARGE');
      const list = await req(small, 'GET', '/api/tasks');
      expect(list.status).toBe(200);
      expect(list.body.tasks).toEqual([]);
      // Just under the limit is fine.
      expect((await req(small, 'POST', '/api/tasks', { raw: body(2000) })).status).toBe(201);
      expect((await req(small, 'GET', '/api/tasks')).body.tasks).toHaveLength(1);
    } finally {
      await small.close();
    }
  });

  it('has a default limit of 1 MiB: a 1.5 MiB body is 413', async () => {
    const before = await snapshot();
    const big = JSON.stringify({ type: 'remote-only', payload: { pad: 'x'.repeat(1.5 * 1024 * 1024) } });
    for (const path of ['/api/tasks', '/api/workflows', `/api/workflows/${fx.draft}/tasks`]) {
      const r = await req(api, 'POST', path, { raw: big });
      expect(r.status, `${path}: ${r.text.slice(0, 200)}`).toBe(413);
      expect(r.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    }
    // 900 KB is under it.
    const fine = JSON.stringify({ type: 'remote-only', payload: { pad: 'x'.repeat(900 * 1024) } });
    const r = await req(api, 'POST', '/api/tasks', { raw: fine });
    expect(r.status).toBe(201);
    expect(await req(api, 'DELETE', `/api/tasks/${r.body.id}`)).toMatchObject({ status: 200 });
    const after = (await snapshot()) as { tasks: unknown[] };
    expect(after.tasks).toHaveLength((before as { tasks: unknown[] }).tasks.length + 1);
  });
});

describe('bodies that are not JSON objects', () => {
  it('answers malformed JSON, an empty body and a wrong content-type with 400 VALIDATION', async () => {
    const before = await snapshot();
    for (const { path, valid } of postRoutes()) {
      for (const raw of ['{"type":', '{', '{"a":1}}', "{'a':1}", 'nul', '\u0000', '{"a":1,}']) {
        const r = await req(api, 'POST', path, { raw });
        expect(r.status, `${path} with ${JSON.stringify(raw)}: ${r.text}`).toBe(400);
        expect(r.body.error.code).toBe('VALIDATION');
      }
      const empty = await req(api, 'POST', path, { raw: '' });
      expect(empty.status, `${path} with an empty body: ${empty.text}`).toBe(400);
      expect(empty.body.error.code).toBe('VALIDATION');
      if (valid === null) continue;
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const r = await req(api, 'POST', path, {
          raw: JSON.stringify(valid),
          headers: { 'content-type': type },
        });
        expect(r.status, `${path} as ${type}: ${r.text}`).toBe(400);
        expect(r.body.error.code).toBe('VALIDATION');
        expectErrorBody(r, `${path} as ${type}`);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses __proto__ and constructor.prototype keys with 400', async () => {
    const before = await snapshot();
    const bodies = [
      '{"type":"remote-only","__proto__":{"polluted":true}}',
      '{"type":"remote-only","payload":{"__proto__":{"polluted":true}}}',
      '{"type":"remote-only","payload":{"a":[{"__proto__":{"polluted":true}}]}}',
      '{"type":"remote-only","constructor":{"prototype":{"polluted":true}}}',
      '{"type":"remote-only","payload":{"constructor":{"prototype":{"polluted":true}}}}',
    ];
    for (const raw of bodies) {
      const r = await req(api, 'POST', '/api/tasks', { raw });
      expect(r.status, `${raw}: ${r.text}`).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION');
    }
    for (const raw of [
      '{"name":"wf","__proto__":{"start":true}}',
      '{"name":"wf","input":{"constructor":{"prototype":{"x":1}}}}',
    ]) {
      const r = await req(api, 'POST', '/api/workflows', { raw });
      expect(r.status, `${raw}: ${r.text}`).toBe(400);
    }
    const e = await req(api, 'POST', `/api/workflows/${fx.run}/events`, {
      raw: '{"name":"go","payload":{"__proto__":{"x":1}}}',
    });
    expect(e.status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await snapshot()).toEqual(before);
  });

  it('refuses JSON nested 100 deep (naming the depth) and a million [ quickly', async () => {
    const before = await snapshot();
    const nested = (n: number) => `{"type":"remote-only","payload":${'['.repeat(n)}1${']'.repeat(n)}}`;
    const deep = await req(api, 'POST', '/api/tasks', { raw: nested(100) });
    expect(deep.status, deep.text).toBe(400);
    expect(deep.body.error.code).toBe('VALIDATION');
    expect(deep.body.error.message).toMatch(/deeper than 64/);
    const objects = `{"name":"wf","input":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}`;
    const deepObjects = await req(api, 'POST', '/api/workflows', { raw: objects });
    expect(deepObjects.status).toBe(400);
    expect(deepObjects.body.error.message).toMatch(/64/);
    // Brackets inside strings do not count.
    const inString = await req(api, 'POST', '/api/tasks', {
      raw: JSON.stringify({ type: 'remote-only', payload: { s: '['.repeat(500) + '\\"[[[' } }),
    });
    expect(inString.status, inString.text).toBe(201);
    // Within the cap nesting is fine (the body's own object is one level).
    const within = await req(api, 'POST', '/api/tasks', { raw: nested(60) });
    expect(within.status, within.text).toBe(201);
    for (const id of [inString.body.id, within.body.id])
      expect((await req(api, 'DELETE', `/api/tasks/${id}`)).status).toBe(200);

    for (const raw of [
      '['.repeat(1_000_000),
      '{"a":'.repeat(200_000),
      '['.repeat(500_000) + ']'.repeat(500_000),
    ]) {
      const t0 = Date.now();
      const r = await req(api, 'POST', '/api/tasks', { raw });
      const took = Date.now() - t0;
      expect(r.status, r.text.slice(0, 200)).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION');
      expect(took).toBeLessThan(2000);
    }
    expect((await req(api, 'GET', '/health')).status).toBe(200);
    const after = (await snapshot()) as { tasks: unknown[] };
    expect(after.tasks).toHaveLength((before as { tasks: unknown[] }).tasks.length + 2);
  });
});

describe('wrong types and unknown fields', () => {
  it('answers 400 VALIDATION naming the field, for every POST route, and changes nothing', async () => {
    const huge = 'x'.repeat(100_000);
    const t = { type: 'remote-only' };
    const cases: Array<[string, unknown, string | RegExp]> = [
      // POST /api/tasks
      ['/api/tasks', { type: 5 }, 'type'],
      ['/api/tasks', { ...t, priority: 'urgent' }, 'priority'],
      ['/api/tasks', { ...t, priority: 1e308 }, 'priority'],
      ['/api/tasks', { ...t, priority: 1.5 }, 'priority'],
      ['/api/tasks', { ...t, max_retries: -1 }, 'max_retries'],
      ['/api/tasks', { ...t, max_retries: 1e308 }, 'max_retries'],
      ['/api/tasks', { ...t, max_retries: '3' }, 'max_retries'],
      ['/api/tasks', { ...t, timeout_seconds: 0 }, 'timeout_seconds'],
      ['/api/tasks', { ...t, timeout_seconds: -5 }, 'timeout_seconds'],
      ['/api/tasks', { ...t, timeout_seconds: 1e308 }, 'timeout_seconds'],
      ['/api/tasks', { ...t, delay_seconds: 1e308 }, 'delay_seconds'],
      ['/api/tasks', { ...t, delay_seconds: -1 }, 'delay_seconds'],
      ['/api/tasks', { ...t, webhook_url: 'not a url' }, 'webhook_url'],
      ['/api/tasks', { ...t, webhook_url: 5 }, 'webhook_url'],
      ['/api/tasks', { ...t, webhook_url: 'ftp://x' }, 'webhook_url'],
      ['/api/tasks', { ...t, webhook_url: 'javascript:alert(1)' }, 'webhook_url'],
      ['/api/tasks', { ...t, dependencies: 'x' }, 'dependencies'],
      ['/api/tasks', { ...t, dependencies: [5] }, 'dependencies[0]'],
      ['/api/tasks', { ...t, dependencies: [huge] }, 'dependencies[0]'],
      ['/api/tasks', { type: huge }, 'type'],
      ['/api/tasks', { type: 'has space' }, 'type'],
      ['/api/tasks', { ...t, queue: huge }, 'queue'],
      ['/api/tasks', { ...t, idempotency_key: huge }, 'idempotency_key'],
      ['/api/tasks', { ...t, name: huge }, 'name'],
      ['/api/tasks', { ...t, name: 5 }, 'name'],
      ['/api/tasks', { ...t, agent_instructions: 5 }, 'agent_instructions'],
      ['/api/tasks', { ...t, required_capabilities: 'gpu' }, 'required_capabilities'],
      ['/api/tasks', { ...t, required_capabilities: [1] }, 'required_capabilities[0]'],
      ['/api/tasks', { ...t, budget: { usd: -1 } }, 'budget.usd'],
      ['/api/tasks', { ...t, budget: 'lots' }, 'budget'],
      ['/api/tasks', { ...t, backoff: { type: 'random' } }, 'backoff.type'],
      ['/api/tasks', { ...t, backoff: { base_ms: 1, colour: 'red' } }, 'backoff.colour'],
      ['/api/tasks', { ...t, colour: 'red' }, 'colour'],
      ['/api/tasks', { ...t, Type: 'noop' }, 'Type'],
      ['/api/tasks', {}, 'type'],
      ['/api/tasks', { payload: { a: 1 } }, 'type'],
      ['/api/tasks', [t], 'body'],
      ['/api/tasks', 'remote-only', 'body'],
      ['/api/tasks', 42, 'body'],
      ['/api/tasks', null, 'body'],
      // POST /api/workflows
      ['/api/workflows', {}, 'name'],
      ['/api/workflows', { name: 5 }, 'name'],
      ['/api/workflows', { name: huge }, 'name'],
      ['/api/workflows', { name: 'wf', id: huge }, 'id'],
      ['/api/workflows', { name: 'wf', start: 'yes' }, 'start'],
      ['/api/workflows', { name: 'wf', webhook_url: 'ftp://x' }, 'webhook_url'],
      ['/api/workflows', { name: 'wf', steps: 'x' }, 'steps'],
      ['/api/workflows', { name: 'wf', steps: [5] }, 'steps[0]'],
      ['/api/workflows', { name: 'wf', phases: 'x' }, 'phases'],
      ['/api/workflows', { name: 'wf', tasks: [{ name: 't', type: 5 }] }, 'tasks[0].type'],
      ['/api/workflows', { name: 'wf', tasks: [{ name: 't', type: 'noop', colour: 1 }] }, 'tasks[0].colour'],
      ['/api/workflows', { name: 'wf', on_step_failure: 'explode' }, 'on_step_failure'],
      ['/api/workflows', { name: 'wf', description: 5 }, 'description'],
      ['/api/workflows', { name: 'wf', colour: 1 }, 'colour'],
      ['/api/workflows', { name: 'wf', start: true, steps: [{ id: 'a', type: 5 }] }, 'steps[0].type'],
      [
        '/api/workflows',
        { name: 'wf', start: true, steps: [{ id: 'a', type: 'noop', retry: { maxRetries: -1 } }] },
        /^steps\[0\]\.retry/,
      ],
      [
        '/api/workflows',
        { name: 'wf', start: true, steps: [{ id: 'a', type: 'noop', priority: 1e308 }] },
        'steps[0].priority',
      ],
      ['/api/workflows', { name: 'wf', start: true, steps: [{ id: huge, type: 'noop' }] }, 'steps[0].id'],
      // POST /api/workflows/:id/phases
      [`/api/workflows/${fx.draft}/phases`, {}, 'phase_id'],
      [`/api/workflows/${fx.draft}/phases`, { phase_id: 5 }, 'phase_id'],
      [`/api/workflows/${fx.draft}/phases`, { phase_id: huge }, 'phase_id'],
      [`/api/workflows/${fx.draft}/phases`, { phase_id: 'p', depends_on: 'x' }, 'depends_on'],
      [`/api/workflows/${fx.draft}/phases`, { phase_id: 'p', depends_on: [1] }, 'depends_on[0]'],
      [`/api/workflows/${fx.draft}/phases`, { phase_id: 'p', name: 5 }, 'name'],
      [`/api/workflows/${fx.draft}/phases`, { phase_id: 'p', dependsOn: ['p1'] }, 'dependsOn'],
      // POST /api/workflows/:id/tasks
      [`/api/workflows/${fx.draft}/tasks`, { type: 'noop' }, 'name'],
      [`/api/workflows/${fx.draft}/tasks`, { name: 't', type: 5 }, 'type'],
      [`/api/workflows/${fx.draft}/tasks`, { name: 't', type: 'noop', priority: 'urgent' }, 'priority'],
      [`/api/workflows/${fx.draft}/tasks`, { name: 't', type: 'noop', dependencies: 'x' }, 'dependencies'],
      [`/api/workflows/${fx.draft}/tasks`, { name: 't', type: 'noop', id: huge }, 'id'],
      [`/api/workflows/${fx.draft}/tasks`, { name: 't', type: 'noop', max_retries: -1 }, 'max_retries'],
      [
        `/api/workflows/${fx.draft}/tasks`,
        { name: 't', type: 'noop', timeout_seconds: 0 },
        'timeout_seconds',
      ],
      [
        `/api/workflows/${fx.draft}/tasks`,
        { name: 't', type: 'noop', webhook_url: 'http://x.test' },
        'webhook_url',
      ],
      [`/api/workflows/${fx.draft}/tasks`, { name: 't', type: 'noop', phase_id: 5 }, 'phase_id'],
      [`/api/workflows/${fx.draft}/tasks`, { name: 't' }, 'type'],
      // POST /api/workflows/:id/events
      [`/api/workflows/${fx.run}/events`, {}, 'name'],
      [`/api/workflows/${fx.run}/events`, { name: 5 }, 'name'],
      [`/api/workflows/${fx.run}/events`, { name: huge }, 'name'],
      [`/api/workflows/${fx.run}/events`, { name: 'go', colour: 1 }, 'colour'],
      // POST /api/executors
      ['/api/executors', {}, 'id'],
      ['/api/executors', { id: 5 }, 'id'],
      ['/api/executors', { id: huge }, 'id'],
      ['/api/executors', { id: 'w', concurrency: 0 }, 'concurrency'],
      ['/api/executors', { id: 'w', concurrency: 1e308 }, 'concurrency'],
      ['/api/executors', { id: 'w', concurrency: 2.5 }, 'concurrency'],
      ['/api/executors', { id: 'w', capabilities: 'x' }, 'capabilities'],
      ['/api/executors', { id: 'w', capabilities: [huge] }, 'capabilities[0]'],
      ['/api/executors', { id: 'w', colour: 1 }, 'colour'],
      // POST /api/executors/:id/claim
      ['/api/executors/w1/claim', { types: 'x' }, 'types'],
      ['/api/executors/w1/claim', { types: [] }, 'types'],
      ['/api/executors/w1/claim', { types: [huge] }, 'types[0]'],
      ['/api/executors/w1/claim', { limit: 0 }, 'limit'],
      ['/api/executors/w1/claim', { limit: 1e308 }, 'limit'],
      ['/api/executors/w1/claim', { limit: 'all' }, 'limit'],
      ['/api/executors/w1/claim', { lease_seconds: 1.5 }, 'lease_seconds'],
      ['/api/executors/w1/claim', { lease_seconds: 0 }, 'lease_seconds'],
      ['/api/executors/w1/claim', { colour: 1 }, 'colour'],
      // POST /api/tasks/:id/{start,progress,heartbeat,complete,fail}
      [`/api/tasks/${fx.running}/start`, {}, 'executor_id'],
      [`/api/tasks/${fx.running}/start`, { executor_id: 5 }, 'executor_id'],
      [`/api/tasks/${fx.running}/start`, { executor_id: huge }, 'executor_id'],
      [`/api/tasks/${fx.running}/start`, { executor_id: 'w1', colour: 1 }, 'colour'],
      [`/api/tasks/${fx.running}/progress`, { executor_id: 'w1' }, 'percent'],
      [`/api/tasks/${fx.running}/progress`, { executor_id: 'w1', percent: 101 }, 'percent'],
      [`/api/tasks/${fx.running}/progress`, { executor_id: 'w1', percent: 'half' }, 'percent'],
      [`/api/tasks/${fx.running}/progress`, { executor_id: 'w1', percent: 1e308 }, 'percent'],
      [`/api/tasks/${fx.running}/progress`, { executor_id: 'w1', percent: 5, message: 5 }, 'message'],
      [`/api/tasks/${fx.running}/progress`, { executor_id: 'w1', percent: 5, message: huge }, 'message'],
      [`/api/tasks/${fx.running}/heartbeat`, { executor_id: 5 }, 'executor_id'],
      [`/api/tasks/${fx.running}/heartbeat`, {}, 'executor_id'],
      [`/api/tasks/${fx.running}/complete`, { executor_id: 'w1', lease_token: '1' }, 'lease_token'],
      [`/api/tasks/${fx.running}/complete`, { executor_id: 'w1', lease_token: 1.5 }, 'lease_token'],
      [`/api/tasks/${fx.running}/complete`, { executor_id: 'w1', usage: { x: -1 } }, 'usage.x'],
      [`/api/tasks/${fx.running}/complete`, { executor_id: 'w1', output: 1 }, 'output'],
      [`/api/tasks/${fx.running}/complete`, { result: 1 }, 'executor_id'],
      [`/api/tasks/${fx.running}/fail`, { executor_id: 'w1' }, 'error'],
      [`/api/tasks/${fx.running}/fail`, { executor_id: 'w1', error: 5 }, 'error'],
      [`/api/tasks/${fx.running}/fail`, { executor_id: 'w1', error: { code: 'E' } }, 'error'],
      [`/api/tasks/${fx.running}/fail`, { executor_id: 'w1', error: huge }, 'error'],
      [`/api/tasks/${fx.running}/fail`, { executor_id: 'w1', error: 'x', retryable: 'no' }, 'retryable'],
      [
        `/api/tasks/${fx.running}/fail`,
        { executor_id: 'w1', error: 'x', retry_after_seconds: -1 },
        'retry_after_seconds',
      ],
      [
        `/api/tasks/${fx.running}/fail`,
        { executor_id: 'w1', error: 'x', retry_after_seconds: 1e308 },
        'retry_after_seconds',
      ],
      [`/api/tasks/${fx.running}/fail`, { executor_id: 'w1', error: 'x', colour: 1 }, 'colour'],
    ];
    const before = await snapshot();
    const failures: string[] = [];
    for (const [path, body, field] of cases) {
      const r = await req(api, 'POST', path, { raw: JSON.stringify(body) });
      const what = `POST ${path.replace(/[0-9a-f-]{36}/g, ':id')} ${JSON.stringify(body).slice(0, 80)}`;
      // Collect every mismatch first, so one run names them all.
      const first = r.body?.error?.details?.issues?.[0]?.field as unknown;
      const good =
        r.status === 400 &&
        r.body?.error?.code === 'VALIDATION' &&
        (typeof field === 'string' ? first === field : typeof first === 'string' && field.test(first));
      if (!good) failures.push(`${what} → ${r.status} ${r.text.slice(0, 200)}`);
    }
    // Soft: the checks below run (and report) whether or not some field was misnamed.
    expect.soft(failures).toEqual([]);
    for (const [path, body, field] of cases.slice(0, 3)) {
      expectValidation(await req(api, 'POST', path, { body }), field, path);
    }
    expect(await snapshot()).toEqual(before);
    // The running task was not touched by any of it.
    expect((await req(api, 'GET', `/api/tasks/${fx.running}`)).body).toMatchObject({
      status: 'running',
      progress: 0,
      lease_token: fx.lease,
      result: null,
      error: null,
    });
  });
});

describe('bad path parameters and queries', () => {
  it('answers ids out of shape with 400 and unknown well-formed ids with 404, in the error body', async () => {
    const long = 'x'.repeat(1000);
    const routes = (id: string): Array<[string, string, unknown?]> => [
      ['GET', `/api/tasks/${id}`],
      ['DELETE', `/api/tasks/${id}`],
      ['POST', `/api/tasks/${id}/retry`],
      ['GET', `/api/tasks/${id}/logs`],
      ['GET', `/api/tasks/${id}/receipts`],
      ['POST', `/api/tasks/${id}/complete`, { executor_id: 'w1' }],
      ['GET', `/api/workflows/${id}`],
      ['GET', `/api/workflows/${id}/status`],
      ['POST', `/api/workflows/${id}/start`],
      ['POST', `/api/workflows/${id}/phases`, { phase_id: 'p' }],
      ['POST', `/api/executors/${id}/claim`, {}],
      ['GET', `/api/webhooks/${id}/history`],
    ];
    const failures: string[] = [];
    const check = async (id: string, status: number, code: string) => {
      for (const [method, path, body] of routes(id)) {
        const r = await req(api, method, path, body === undefined ? {} : { body });
        const got = (r.body?.error?.code ?? r.body?.code ?? r.text.slice(0, 40)) as string;
        const what = `${method} ${path.slice(0, 40)} → ${r.status} ${got} (body ${JSON.stringify(r.body).slice(0, 30)}…)`;
        if (r.status !== status || r.body?.error?.code !== code || typeof r.body?.error?.message !== 'string')
          failures.push(what);
      }
    };
    await check('has%20space', 400, 'VALIDATION');
    await check('semi%3Bcolon', 400, 'VALIDATION');
    await check('x'.repeat(300), 400, 'VALIDATION');
    await check(long, 400, 'VALIDATION');
    await check('%ZZ', 400, 'VALIDATION');
    expect.soft(failures).toEqual([]);
    // An unknown id of the right shape is 404 (claim on an unregistered executor included).
    for (const [method, path, body] of routes(randomUUID())) {
      const r = await req(api, method, path, body === undefined ? {} : { body });
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(404);
      expect(r.body.error.code).toBe('NOT_FOUND');
    }
    const named = await req(api, 'GET', '/api/tasks/has%20space');
    expectValidation(named, 'params.id', 'id with a space');
  });

  it('answers queries out of shape with 400 VALIDATION naming the query field', async () => {
    const cases: Array<[string, string]> = [
      ['/api/tasks?limit=0', 'query.limit'],
      ['/api/tasks?limit=abc', 'query.limit'],
      ['/api/tasks?limit=1001', 'query.limit'],
      ['/api/tasks?limit=1.5', 'query.limit'],
      ['/api/tasks?limit=-1', 'query.limit'],
      ['/api/tasks?limit=1&limit=2', 'query.limit'],
      ['/api/tasks?status=bogus', 'query.status'],
      ['/api/tasks?status=queued,bogus', 'query.status'],
      ['/api/tasks?status=QUEUED', 'query.status'],
      ['/api/tasks?cursor=x', 'query.cursor'],
      ['/api/tasks?cursor=-1', 'query.cursor'],
      [`/api/tasks?cursor=${'9'.repeat(100)}`, 'query.cursor'],
      ['/api/tasks?type=has%20space', 'query.type'],
      [`/api/tasks?workflow_id=${'w'.repeat(300)}`, 'query.workflow_id'],
      ['/api/tasks?colour=red', 'query.colour'],
      ['/api/workflows?limit=0', 'query.limit'],
      ['/api/workflows?limit=abc', 'query.limit'],
      ['/api/workflows?status=bogus', 'query.status'],
      ['/api/workflows?status=queued', 'query.status'],
      ['/api/workflows?cursor=x', 'query.cursor'],
      ['/api/workflows?colour=red', 'query.colour'],
      [`/api/tasks/${fx.queued}/logs?limit=0`, 'query.limit'],
      [`/api/tasks/${fx.queued}/logs?limit=abc`, 'query.limit'],
      [`/api/webhooks/${fx.queued}/history?limit=abc`, 'query.limit'],
      ['/api/events?task_id=has%20space', 'query.task_id'],
      ['/api/events?workflow_id=has%20space', 'query.workflow_id'],
      ['/api/events?last_event_id=x', 'query.last_event_id'],
      ['/api/events?colour=red', 'query.colour'],
    ];
    const failures: string[] = [];
    for (const [path, field] of cases) {
      const r = await req(api, 'GET', path);
      const first = r.body?.error?.details?.issues?.[0]?.field as unknown;
      if (r.status !== 400 || r.body?.error?.code !== 'VALIDATION' || first !== field)
        failures.push(`GET ${path.slice(0, 80)} → ${r.status} ${r.text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    // The same routes with good queries answer 200.
    expect((await req(api, 'GET', '/api/tasks?limit=1&status=queued,running')).status).toBe(200);
    expect((await req(api, 'GET', '/api/workflows?limit=1&status=running')).status).toBe(200);
    expect((await req(api, 'GET', `/api/tasks/${fx.queued}/logs?limit=5`)).status).toBe(200);
  });
});

describe('requests the state forbids', () => {
  it('answers them with 409 (or 400 for a definition that cannot run) and changes nothing', async () => {
    // A completed task cannot be cancelled.
    const done = await ok(req(api, 'POST', '/api/tasks', { body: { type: 'noop' } }), 201);
    await waitFor(
      async () => (await req(api, 'GET', `/api/tasks/${done.id}`)).body.status === 'completed',
      'noop task completed',
    );
    const del = await req(api, 'DELETE', `/api/tasks/${done.id}`);
    expect(del.status, del.text).toBe(409);
    expect(del.body.error.code).toBe('INVALID_TRANSITION');
    expect((await req(api, 'GET', `/api/tasks/${done.id}`)).body.status).toBe('completed');

    const before = await snapshot();
    // Only a failed or cancelled task can be retried.
    for (const id of [fx.queued, fx.running, done.id]) {
      const r = await req(api, 'POST', `/api/tasks/${id}/retry`);
      expect(r.status, `retry ${id}: ${r.text}`).toBe(409);
      expectErrorBody(r, 'retry');
    }
    // A started workflow takes no phases or tasks, and cannot start again.
    const phase = await req(api, 'POST', `/api/workflows/${fx.run}/phases`, { body: { phase_id: 'late' } });
    expect(phase.status, phase.text).toBe(409);
    const task = await req(api, 'POST', `/api/workflows/${fx.run}/tasks`, {
      body: { name: 'late', type: 'noop' },
    });
    expect(task.status, task.text).toBe(409);
    const again = await req(api, 'POST', `/api/workflows/${fx.run}/start`);
    expect(again.status, again.text).toBe(409);
    expectErrorBody(again, 'start twice');
    // A draft has nothing to cancel and takes no events.
    expect((await req(api, 'POST', `/api/workflows/${fx.draft}/cancel`)).status).toBe(409);
    expect(
      (await req(api, 'POST', `/api/workflows/${fx.draft}/events`, { body: { name: 'go' } })).status,
    ).toBe(409);

    // Definitions that cannot run: 400.
    const unknownDep = { name: 'wf', steps: [{ id: 'a', type: 'noop', deps: ['zzz'] }] };
    for (const start of [true, false]) {
      const r = await req(api, 'POST', '/api/workflows', { body: { ...unknownDep, start } });
      expect(r.status, `unknown dep (start ${start}): ${r.text}`).toBe(400);
      expectErrorBody(r, 'unknown dep');
    }
    const cycle = await req(api, 'POST', '/api/workflows', {
      body: {
        name: 'wf',
        start: true,
        steps: [
          { id: 'a', type: 'noop', deps: ['c'] },
          { id: 'b', type: 'noop', deps: ['a'] },
          { id: 'c', type: 'noop', deps: ['b'] },
        ],
      },
    });
    expect(cycle.status, cycle.text).toBe(400);
    expect(['CYCLE', 'VALIDATION']).toContain(cycle.body.error.code);
    const self = await req(api, 'POST', '/api/workflows', {
      body: { name: 'wf', start: true, steps: [{ id: 'a', type: 'noop', deps: ['a'] }] },
    });
    expect(self.status, self.text).toBe(400);
    const dupSteps = await req(api, 'POST', '/api/workflows', {
      body: {
        name: 'wf',
        start: true,
        steps: [
          { id: 'a', type: 'noop' },
          { id: 'a', type: 'noop' },
        ],
      },
    });
    expect(dupSteps.status, dupSteps.text).toBe(400);
    const phaseDep = await req(api, 'POST', `/api/workflows/${fx.draft}/phases`, {
      body: { phase_id: 'p2', depends_on: ['nope'] },
    });
    expect(phaseDep.status, phaseDep.text).toBe(400);
    expect(phaseDep.body.error.code).toBe('VALIDATION');
    const dupPhase = await req(api, 'POST', `/api/workflows/${fx.draft}/phases`, {
      body: { phase_id: 'p1' },
    });
    expect(dupPhase.status, dupPhase.text).toBe(400);
    const taskDep = await req(api, 'POST', `/api/workflows/${fx.draft}/tasks`, {
      body: { name: 't2', type: 'noop', dependencies: ['zzz'] },
    });
    expect(taskDep.status, taskDep.text).toBe(400);
    const taskPhase = await req(api, 'POST', `/api/workflows/${fx.draft}/tasks`, {
      body: { name: 't2', type: 'noop', phase_id: 'nope' },
    });
    expect(taskPhase.status, taskPhase.text).toBe(400);
    // type and agent_name together (and payload with agent_instructions).
    const both = { type: 'noop', agent_name: 'writer' };
    expectValidation(await req(api, 'POST', '/api/tasks', { body: both }), 'agent_name', 'type+agent_name');
    expectValidation(
      await req(api, 'POST', '/api/tasks', { body: { type: 'noop', payload: {}, agent_instructions: 'x' } }),
      'agent_instructions',
      'payload+agent_instructions',
    );
    expectValidation(
      await req(api, 'POST', `/api/workflows/${fx.draft}/tasks`, { body: { name: 't2', ...both } }),
      /agent_name$/,
      'workflow task type+agent_name',
    );
    // A report with a lease token the executor does not hold: 409, the task goes on.
    for (const lease_token of [fx.lease + 1, fx.lease - 1, 0]) {
      const r = await req(api, 'POST', `/api/tasks/${fx.running}/complete`, {
        body: { executor_id: 'w1', lease_token, result: { late: true } },
      });
      expect(r.status, r.text).toBe(409);
      expectErrorBody(r, 'wrong lease');
      const f = await req(api, 'POST', `/api/tasks/${fx.running}/fail`, {
        body: { executor_id: 'w1', lease_token, error: 'late' },
      });
      expect(f.status, f.text).toBe(409);
    }
    // Reports from an executor that does not hold the task: 409.
    await ok(req(api, 'POST', '/api/executors', { body: { id: 'w2' } }), 201);
    const other = await req(api, 'POST', `/api/tasks/${fx.running}/complete`, {
      body: { executor_id: 'w2' },
    });
    expect(other.status, other.text).toBe(409);
    expect(await snapshot()).toEqual(
      expect.objectContaining({
        tasks: (before as { tasks: unknown }).tasks,
        draft: (before as { draft: unknown }).draft,
      }),
    );
    expect((await req(api, 'GET', `/api/tasks/${fx.running}`)).body).toMatchObject({
      status: 'running',
      lease_token: fx.lease,
      result: null,
    });
    expect((await req(api, 'GET', `/api/workflows/${fx.run}`)).body.status).toBe('running');
  });
});

describe('extreme values the API accepts', () => {
  it('runs a task with the largest timeout_seconds it accepts instead of timing it out at once', async () => {
    // 30 days and the schema's maximum (10 years) are both over setTimeout's 2^31-1 ms.
    const ids: string[] = [];
    for (const timeout_seconds of [60, 2_592_000, 315_360_000]) {
      const r = await req(api, 'POST', '/api/tasks', {
        body: { type: 'sleep', payload: { ms: 300 }, timeout_seconds, max_retries: 0 },
      });
      expect(r.status, r.text).toBe(201);
      expect(r.body.timeout_seconds).toBe(timeout_seconds);
      ids.push(r.body.id as string);
    }
    const final = async (id: string) => (await req(api, 'GET', `/api/tasks/${id}`)).body;
    await waitFor(async () => {
      for (const id of ids) if (!['completed', 'failed'].includes((await final(id)).status)) return false;
      return true;
    }, 'the sleep tasks finished');
    const outcomes = [];
    for (const id of ids) {
      const t = await final(id);
      outcomes.push({ timeout_seconds: t.timeout_seconds, status: t.status, error: t.error });
    }
    expect(outcomes).toEqual(
      [60, 2_592_000, 315_360_000].map((timeout_seconds) => ({
        timeout_seconds,
        status: 'completed',
        error: null,
      })),
    );
  });

  it('keeps strings with lone surrogates exactly as sent, or refuses them with 400', async () => {
    await ok(req(api, 'POST', '/api/executors', { body: { id: 'w-sur' } }), 201);
    const sent = { type: 'remote-sur', name: 'a\ud800b', idempotency_key: 'k\udc00' };
    // JSON.stringify writes lone surrogates as \u escapes: the JSON text itself is valid.
    const raw = JSON.stringify(sent);
    expect(raw).toContain('\\ud800');
    const created = await req(api, 'POST', '/api/tasks', { raw });
    if (created.status === 400) {
      expect(created.body.error.code).toBe('VALIDATION');
      return;
    }
    expect(created.status, created.text).toBe(201);
    expect(created.body.name).toBe('a\ud800b');
    const stored = (await req(api, 'GET', `/api/tasks/${created.body.id}`)).body;
    expect
      .soft(
        { name: stored.name, idempotency_key: stored.idempotency_key },
        'what the 201 answered is what was stored',
      )
      .toEqual({ name: created.body.name, idempotency_key: created.body.idempotency_key });
    await ok(req(api, 'POST', '/api/executors/w-sur/claim', { body: { types: ['remote-sur'] } }), 200);
    const p = await req(api, 'POST', `/api/tasks/${created.body.id}/progress`, {
      raw: JSON.stringify({ executor_id: 'w-sur', percent: 5, message: 'm\ud800' }),
    });
    if (p.status === 200)
      expect
        .soft(
          (await req(api, 'GET', `/api/tasks/${created.body.id}`)).body.progress_message,
          'progress message',
        )
        .toBe('m\ud800');
    else expect(p.status).toBe(400);
  });
});

/** A small seeded generator (mulberry32), so a failing body can be found again. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}

const NUMBERS = [
  '0',
  '-0',
  '1',
  '-1',
  '0.5',
  '1e308',
  '-1e308',
  '1e309',
  '5e-324',
  '9007199254740993',
  '123456789012345678901234567890',
  '-123456789012345678901234567890',
  '1E2',
  '100',
  '1001',
  '86401',
  '2147483648',
];
const STRINGS = [
  '',
  'noop',
  'sleep',
  'remote-only',
  'w1',
  'p1',
  't1',
  'high',
  'urgent',
  'http://example.com/hook',
  'ftp://x',
  'http://127.0.0.1:1/x',
  '\\ud800',
  '\\udfff',
  '\\udc00\\ud800',
  'a\\ud800b',
  '\\u0000',
  '\\u202e',
  '😀',
  '{{input.x}}',
  '{{steps.a.output}}',
  "'; DROP TABLE items; --",
  '../../etc/passwd',
  '__proto__',
  'constructor',
];
const KEYS = [
  'type',
  'name',
  'id',
  'payload',
  'priority',
  'max_retries',
  'timeout_seconds',
  'webhook_url',
  'dependencies',
  'idempotency_key',
  'delay_seconds',
  'budget',
  'steps',
  'phases',
  'tasks',
  'start',
  'input',
  'deps',
  'phase_id',
  'depends_on',
  'executor_id',
  'percent',
  'lease_token',
  'result',
  'error',
  'message',
  'usage',
  'types',
  'limit',
  'lease_seconds',
  'capabilities',
  'concurrency',
  'retryable',
  'retry_after_seconds',
  '__proto__',
  'constructor',
  'prototype',
  '',
  'x',
];

/** A random JSON text: numbers and strings as written (so -0, 1e309 and lone surrogates survive). */
function randomJson(r: ReturnType<typeof rng>, depth = 0): string {
  const roll = r.int(depth > 3 ? 4 : 7);
  switch (roll) {
    case 0:
      return r.pick(['null', 'true', 'false']);
    case 1:
      return r.next() < 0.5 ? r.pick(NUMBERS) : String((r.next() - 0.5) * 10 ** r.int(20));
    case 2:
    case 3: {
      if (r.next() < 0.03) return JSON.stringify('y'.repeat(r.int(20_000)));
      const s =
        r.next() < 0.7 ? r.pick(STRINGS) : String.fromCharCode(...[0, 1, 2].map(() => 32 + r.int(90)));
      return `"${s.replace(/"/g, '\\"')}"`;
    }
    case 4:
      return `[${Array.from({ length: r.int(5) }, () => randomJson(r, depth + 1)).join(',')}]`;
    default: {
      const n = r.int(6);
      const entries = Array.from(
        { length: n },
        () => `${JSON.stringify(r.pick(KEYS))}:${randomJson(r, depth + 1)}`,
      );
      return `{${entries.join(',')}}`;
    }
  }
}

/** A valid body with one or two fields changed to random values, or a random key added. */
function mutate(r: ReturnType<typeof rng>, valid: Record<string, unknown>): string {
  const entries = Object.entries(valid).map(([k, v]) => [k, JSON.stringify(v)] as [string, string]);
  for (let i = 0, n = 1 + r.int(2); i < n; i++) {
    const roll = r.next();
    if (roll < 0.6 && entries.length > 0) entries[r.int(entries.length)]![1] = randomJson(r, 1);
    else if (roll < 0.8) entries.push([r.pick(KEYS), randomJson(r, 1)]);
    else if (entries.length > 0) entries.splice(r.int(entries.length), 1);
  }
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

describe('random bodies', () => {
  it('never answers 5xx to 300 random bodies on every POST route, and stays healthy', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20_240_611);
    const r = rng(seed);
    // Fresh objects for the fuzz, so what it changes does not matter to the other tests.
    const draft = await ok(req(api, 'POST', '/api/workflows', { body: { name: 'fuzz' } }), 201);
    await ok(req(api, 'POST', `/api/workflows/${draft.id}/phases`, { body: { phase_id: 'p1' } }), 201);
    const run = await ok(
      req(api, 'POST', '/api/workflows', {
        body: { name: 'fuzz-run', start: true, steps: [{ id: 's1', type: 'remote-only' }] },
      }),
      202,
    );
    const queued = await ok(req(api, 'POST', '/api/tasks', { body: { type: 'remote-only' } }), 201);
    await ok(req(api, 'POST', '/api/executors', { body: { id: 'fz' } }), 201);
    const claimed = await ok(req(api, 'POST', '/api/tasks', { body: { type: 'remote-fuzz' } }), 201);
    await ok(req(api, 'POST', '/api/executors/fz/claim', { body: { types: ['remote-fuzz'] } }), 200);
    const routes = postRoutes().map((route) => ({
      ...route,
      path: route.path
        .replace(fx.draft, draft.id)
        .replace(fx.run, run.id)
        .replace(fx.queued, queued.id)
        .replace(fx.running, claimed.id)
        .replace('/executors/w1/', '/executors/fz/'),
      valid:
        route.valid && 'executor_id' in route.valid ? { ...route.valid, executor_id: 'fz' } : route.valid,
    }));

    const bad: string[] = [];
    const counts: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const random = randomJson(r);
      const deep = r.next() < 0.03 ? `${'['.repeat(70)}${']'.repeat(70)}` : null;
      await Promise.all(
        routes.map(async ({ path, valid }) => {
          const raw = deep ?? (valid !== null && r.next() < 0.5 ? mutate(r, valid) : random);
          const a = await req(api, 'POST', path, { raw });
          counts[String(a.status)] = (counts[String(a.status)] ?? 0) + 1;
          if (a.status >= 500)
            bad.push(`#${i} POST ${path} ${raw.slice(0, 200)} → ${a.status} ${a.text.slice(0, 200)}`);
          else if (a.status >= 400 && typeof a.body?.error?.code !== 'string')
            bad.push(
              `#${i} POST ${path} ${raw.slice(0, 200)} → ${a.status} without the error body: ${a.text}`,
            );
        }),
      );
    }
    console.log(`fuzz answers by status: ${JSON.stringify(counts)}`);
    expect(bad, `seed ${seed}`).toEqual([]);
    // The loop did reach past validation sometimes (some created or changed something).
    expect(
      Object.keys(counts).some((s) => s.startsWith('2')),
      JSON.stringify(counts),
    ).toBe(true);
    expect(counts['400'] ?? 0).toBeGreaterThan(1000);
    const health = await req(api, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    expect((await req(api, 'GET', '/api/tasks?limit=5')).status).toBe(200);
  });
});

describe('the whole file', () => {
  it('got no 5xx answer anywhere', () => {
    expect(seen.length).toBeGreaterThan(1000);
    expect(seen.filter(([status]) => status >= 500)).toEqual([]);
  });
});
