/**
 * Webhooks over the HTTP API (CONTRACT §6): a task or workflow created with a
 * `webhook_url` POSTs `{ type, timestamp, data }` to it when it finishes, signed the
 * Standard Webhooks way with the tenant's secret (verified here with the `standardwebhooks`
 * package, as a receiver would), retried with backoff on a failing receiver, every attempt
 * in GET /api/webhooks/:task_id/history. Loopback targets are refused unless allowed, and a
 * delivery is a durable item that survives a restart. Receivers are real `node:http`
 * servers on 127.0.0.1.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { NonRetryableError, type Conveyor } from '../../src/index.js';
import type { ServerConfig } from '../../src/server.js';
import type { Handler } from '../../src/index.js';
import { startTestApi, type TestApi } from '../helpers/api-server.js';
import { openTestConveyor, tempDir, waitFor } from '../helpers/conveyors.js';

// ---- a webhook receiver ---------------------------------------------------------------

interface Delivery {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status the receiver answered. */
  answered: number;
}

interface Receiver {
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  deliveries: Delivery[];
  /** TCP connections accepted: 0 proves a refusal happened before connecting. */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A receiver on 127.0.0.1 (on `port`, or a random one) that answers each request with the
 * next status of `statuses` (200 once they run out).
 */
async function startReceiver(statuses: number[] = [], port = 0): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const queue = [...statuses];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answered = queue.shift() ?? 200;
      deliveries.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        answered,
      });
      res.writeHead(answered, { 'content-type': 'text/plain' });
      res.end(answered === 200 ? 'ok' : 'not now');
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    deliveries,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

/** A loopback port nothing listens on (it was listening a moment ago). */
async function deadPort(): Promise<number> {
  const r = await startReceiver();
  await r.close();
  return r.port;
}

// ---- JSON shapes of the API -------------------------------------------------------------

interface TaskJson {
  id: string;
  status: string;
  result: unknown;
  error: unknown;
  webhook_url: string | null;
  attempts: number;
  [k: string]: unknown;
}

interface WorkflowJson {
  id: string;
  status: string;
  results: Record<string, unknown>;
  [k: string]: unknown;
}

interface Attempt {
  attempt: number;
  webhook_id: string;
  event_type: string;
  url: string;
  at: string;
  status_code: number | null;
  duration_ms: number;
  outcome: 'delivered' | 'failed' | 'blocked';
  error: string | null;
  delivery_task_id: string;
}

interface History {
  task_id: string;
  attempts: Attempt[];
}

interface WebhookBody {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

interface ErrorJson {
  error: { code: string; message: string };
}

// ---- helpers ------------------------------------------------------------------------------

type Webhooks = ServerConfig['webhooks'];

const FAST_RETRY = { maxRetries: 3, baseMs: 100, maxMs: 200 };
const allowLoopback = (extra: Partial<Webhooks> = {}): Webhooks => ({
  allowPrivate: false,
  allowlist: ['127.0.0.1'],
  secrets: {},
  retry: FAST_RETRY,
  ...extra,
});
const strict = (extra: Partial<Webhooks> = {}): Webhooks => ({
  allowPrivate: false,
  allowlist: [],
  secrets: {},
  retry: FAST_RETRY,
  ...extra,
});

const apis: TestApi[] = [];
const receivers: Receiver[] = [];
const conveyors: Conveyor[] = [];

afterEach(async () => {
  for (const api of apis.splice(0)) await api.close();
  for (const cv of conveyors.splice(0)) await cv.close();
  for (const r of receivers.splice(0)) await r.close();
});

async function api(webhooks: Webhooks, handlers: Record<string, Handler> = {}): Promise<TestApi> {
  const a = await startTestApi({ handlers, config: { webhooks } });
  apis.push(a);
  return a;
}

async function receiver(statuses: number[] = [], port = 0): Promise<Receiver> {
  const r = await startReceiver(statuses, port);
  receivers.push(r);
  return r;
}

async function createTask(a: TestApi, body: Record<string, unknown>): Promise<TaskJson> {
  const res = await a.request<TaskJson>('POST', '/api/tasks', { body });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

async function history(a: TestApi, id: string): Promise<History> {
  const res = await a.request<History>('GET', `/api/webhooks/${id}/history`);
  expect(res.status, res.text).toBe(200);
  return res.body;
}

/** Waits until the subject's history has at least `n` attempts and returns it. */
async function historyWith(a: TestApi, id: string, n: number, timeoutMs = 10_000): Promise<History> {
  let h: History = { task_id: id, attempts: [] };
  await waitFor(
    async () => (h = await history(a, id)).attempts.length >= n,
    `${n} webhook attempt(s) for ${id}`,
    timeoutMs,
  );
  return h;
}

async function secretOf(a: TestApi): Promise<string> {
  const res = await a.request<{ secret: string }>('GET', '/api/webhooks/secret');
  expect(res.status, res.text).toBe(200);
  expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
  return res.body.secret;
}

/** Verifies a delivery's signature the way a receiver does; throws if it is not valid. */
function verified(secret: string, d: Delivery): WebhookBody {
  const headers = {
    'webhook-id': String(d.headers['webhook-id']),
    'webhook-timestamp': String(d.headers['webhook-timestamp']),
    'webhook-signature': String(d.headers['webhook-signature']),
  };
  return new Webhook(secret).verify(d.body, headers) as WebhookBody;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the tests ----------------------------------------------------------------------------

describe('webhook delivery of a finished task', () => {
  it('POSTs task.completed once, signed with the tenant secret, data as GET shows the task', async () => {
    const rx = await receiver();
    const a = await api(allowLoopback());
    const secret = await secretOf(a);
    const task = await createTask(a, {
      name: 'greet',
      type: 'noop',
      payload: { hello: 'world', n: 1 },
      webhook_url: `${rx.url}/hooks/conveyor?src=test`,
    });
    expect(task.webhook_url).toBe(`${rx.url}/hooks/conveyor?src=test`);

    const h = await historyWith(a, task.id, 1);
    await waitFor(() => rx.deliveries.length >= 1, 'the delivery');
    await sleep(300); // a second POST would show up by now
    expect(rx.deliveries).toHaveLength(1);
    const d = rx.deliveries[0]!;
    expect(d.method).toBe('POST');
    expect(d.url).toBe('/hooks/conveyor?src=test');
    expect(d.headers['content-type']).toMatch(/^application\/json/);
    expect(String(d.headers['webhook-id'])).toMatch(/^msg_/);
    expect(String(d.headers['webhook-signature'])).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
    const ts = Number(d.headers['webhook-timestamp']);
    expect(Number.isInteger(ts)).toBe(true);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(60);

    const body = verified(secret, d);
    // A different secret must not verify it (the check above is a real check).
    expect(() => verified('whsec_' + Buffer.alloc(24, 7).toString('base64'), d)).toThrow();
    // Nor a body that was changed in transit.
    expect(() => verified(secret, { ...d, body: d.body.replace('world', 'w0rld') })).toThrow();

    expect(body.type).toBe('task.completed');
    expect(new Date(body.timestamp).getTime() / 1000).toBe(ts);
    const got = await a.request<TaskJson>('GET', `/api/tasks/${task.id}`);
    expect(got.body.status).toBe('completed');
    expect(body.data.id).toBe(task.id);
    expect(body.data.status).toBe('completed');
    expect(body.data.result).toEqual({ hello: 'world', n: 1 });
    expect(body.data.result).toEqual(got.body.result);
    // "data: the task JSON as GET returns it"
    expect(body.data).toEqual(got.body);

    expect(h.task_id).toBe(task.id);
    expect(h.attempts).toHaveLength(1);
    const [at] = h.attempts;
    expect(at).toMatchObject({
      attempt: 1,
      webhook_id: d.headers['webhook-id'],
      event_type: 'task.completed',
      url: `${rx.url}/hooks/conveyor?src=test`,
      status_code: 200,
      outcome: 'delivered',
      error: null,
    });
    expect(at!.duration_ms).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(at!.at))).toBe(false);
    expect(typeof at!.delivery_task_id).toBe('string');
    expect(at!.delivery_task_id).not.toBe(task.id);
    // The delivery is a work item of its own, of type conveyor.webhook, and it completed.
    const item = await a.request<TaskJson>('GET', `/api/tasks/${at!.delivery_task_id}`);
    expect(item.status).toBe(200);
    expect(item.body).toMatchObject({ type: 'conveyor.webhook', status: 'completed' });
  });

  it('retries a receiver answering 500 with backoff: failed, failed, delivered, one webhook-id', async () => {
    const configured = 'whsec_' + Buffer.from('0123456789abcdef01234567').toString('base64');
    const rx = await receiver([500, 500]);
    const a = await api(allowLoopback({ secrets: { '*': configured } }));
    // The configured secret is the one the API hands out.
    expect(await secretOf(a)).toBe(configured);
    const task = await createTask(a, { type: 'noop', payload: { x: 1 }, webhook_url: `${rx.url}/hook` });

    const h = await historyWith(a, task.id, 3);
    await sleep(400); // no fourth attempt after the success
    const final = await history(a, task.id);
    expect(final.attempts).toHaveLength(3);
    expect(rx.deliveries).toHaveLength(3);
    expect(final.attempts.map((x) => x.outcome)).toEqual(['failed', 'failed', 'delivered']);
    expect(final.attempts.map((x) => x.status_code)).toEqual([500, 500, 200]);
    expect(final.attempts.map((x) => x.attempt)).toEqual([1, 2, 3]);
    expect(final.attempts[0]!.error).toMatch(/500/);
    expect(final.attempts[2]!.error).toBeNull();
    expect(h.attempts.slice(0, 3)).toEqual(final.attempts);

    // One message, retried: the same webhook-id on every attempt, in the history and on the wire.
    const ids = new Set([
      ...final.attempts.map((x) => x.webhook_id),
      ...rx.deliveries.map((d) => String(d.headers['webhook-id'])),
    ]);
    expect(ids.size).toBe(1);
    expect(new Set(final.attempts.map((x) => x.delivery_task_id)).size).toBe(1);
    // Every attempt is signed properly (each with its own timestamp).
    for (const d of rx.deliveries) {
      const body = verified(configured, d);
      expect(body.type).toBe('task.completed');
      expect(body.data.id).toBe(task.id);
    }
    // Backoff: attempts are spaced (base 100 ms ±20% jitter, doubling), not back to back.
    const times = final.attempts.map((x) => Date.parse(x.at));
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(70);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(70);
  });

  it('POSTs task.failed for a task that fails for good', async () => {
    const rx = await receiver();
    const a = await api(allowLoopback(), {
      explode: () => {
        throw new NonRetryableError('kaboom: bad input');
      },
    });
    const secret = await secretOf(a);
    const task = await createTask(a, { type: 'explode', payload: {}, webhook_url: `${rx.url}/hook` });
    await historyWith(a, task.id, 1);
    expect(rx.deliveries).toHaveLength(1);
    const body = verified(secret, rx.deliveries[0]!);
    expect(body.type).toBe('task.failed');
    expect(body.data.id).toBe(task.id);
    expect(body.data.status).toBe('failed');
    expect(JSON.stringify(body.data.error)).toContain('kaboom');
    const got = await a.request<TaskJson>('GET', `/api/tasks/${task.id}`);
    expect(got.body.status).toBe('failed');
    expect(body.data.error).toEqual(got.body.error);
    const h = await history(a, task.id);
    expect(h.attempts).toMatchObject([{ event_type: 'task.failed', outcome: 'delivered', status_code: 200 }]);
  });

  it('POSTs task.failed once retries are exhausted (max_retries: 0)', async () => {
    const rx = await receiver();
    let calls = 0;
    const a = await api(allowLoopback(), {
      flaky: () => {
        calls++;
        throw new Error('transient trouble');
      },
    });
    const secret = await secretOf(a);
    const task = await createTask(a, {
      type: 'flaky',
      max_retries: 0,
      webhook_url: `${rx.url}/hook`,
    });
    await historyWith(a, task.id, 1);
    expect(calls).toBe(1);
    const body = verified(secret, rx.deliveries[0]!);
    expect(body.type).toBe('task.failed');
    expect(body.data).toMatchObject({ id: task.id, status: 'failed' });
  });
});

describe('webhook delivery of a finished workflow', () => {
  it('POSTs workflow.completed with the results of a one-shot workflow', async () => {
    const rx = await receiver();
    const a = await api(allowLoopback());
    const secret = await secretOf(a);
    const res = await a.request<WorkflowJson>('POST', '/api/workflows', {
      body: {
        name: 'wf',
        start: true,
        webhook_url: `${rx.url}/wf-hook`,
        steps: [
          { id: 'a', type: 'noop', input: { v: 41 } },
          { id: 'b', type: 'noop', deps: ['a'], input: '{{steps.a.output}}' },
        ],
      },
    });
    expect(res.status, res.text).toBe(202);
    const id = res.body.id;
    expect(res.body.status).toBe('running');

    const h = await historyWith(a, id, 1);
    await sleep(300);
    // Only the workflow has a URL: its steps send nothing of their own.
    expect(rx.deliveries).toHaveLength(1);
    const body = verified(secret, rx.deliveries[0]!);
    expect(rx.deliveries[0]!.url).toBe('/wf-hook');
    expect(body.type).toBe('workflow.completed');
    expect(body.data.id).toBe(id);
    expect(body.data.status).toBe('completed');
    expect(body.data.results).toEqual({ a: { v: 41 }, b: { v: 41 } });
    const got = await a.request<WorkflowJson>('GET', `/api/workflows/${id}`);
    expect(got.body.status).toBe('completed');
    expect(body.data).toEqual(got.body);
    expect(h.task_id).toBe(id);
    expect(h.attempts).toMatchObject([
      { attempt: 1, event_type: 'workflow.completed', outcome: 'delivered', status_code: 200 },
    ]);
  });
});

describe('SSRF guard on webhook targets', () => {
  it.each([
    ['127.0.0.1', (port: number) => `http://127.0.0.1:${port}/hook`],
    ['localhost', (port: number) => `http://localhost:${port}/hook`],
  ])('refuses %s without an allowlist: one blocked attempt, no retry, no request', async (_n, urlOf) => {
    const rx = await receiver();
    const a = await api(strict());
    const url = urlOf(rx.port);
    // Accepted at creation (the check is at connect time) …
    const task = await createTask(a, { type: 'noop', payload: {}, webhook_url: url });
    const h = await historyWith(a, task.id, 1);
    // … refused when delivered. Retries would come within ~100-200 ms: wait well past that.
    await sleep(700);
    const final = await history(a, task.id);
    expect(final.attempts).toHaveLength(1);
    expect(final.attempts[0]).toMatchObject({
      attempt: 1,
      outcome: 'blocked',
      status_code: null,
      event_type: 'task.completed',
      url,
    });
    expect(final.attempts[0]!.error).toBeTruthy();
    expect(h.attempts[0]).toEqual(final.attempts[0]);
    expect(rx.deliveries).toHaveLength(0);
    expect(rx.connections).toBe(0);
    // The delivery item gave up at once rather than waiting to retry.
    const item = await a.request<TaskJson>('GET', `/api/tasks/${final.attempts[0]!.delivery_task_id}`);
    expect(item.body).toMatchObject({ type: 'conveyor.webhook', status: 'failed', attempts: 1 });
    // The task itself is unaffected.
    const got = await a.request<TaskJson>('GET', `/api/tasks/${task.id}`);
    expect(got.body.status).toBe('completed');
  });

  it('delivers to loopback with allowPrivate: true and no allowlist', async () => {
    const rx = await receiver();
    const a = await api(strict({ allowPrivate: true }));
    const secret = await secretOf(a);
    const task = await createTask(a, { type: 'noop', payload: { p: 1 }, webhook_url: `${rx.url}/hook` });
    const h = await historyWith(a, task.id, 1);
    expect(h.attempts).toMatchObject([{ outcome: 'delivered', status_code: 200 }]);
    expect(rx.deliveries).toHaveLength(1);
    expect(verified(secret, rx.deliveries[0]!).type).toBe('task.completed');
  });
});

describe('durability of deliveries', () => {
  it('a delivery pending retry when the server stops is delivered after a restart', async () => {
    const database = join(tempDir(), 'restart.db');
    const port = await deadPort();
    const url = `http://127.0.0.1:${port}/hook`;
    const webhooks = allowLoopback({ retry: { maxRetries: 50, baseMs: 200, maxMs: 400 } });

    // Server #1: the receiver is down, so attempts fail (connection refused).
    const cv1 = await openTestConveyor({ database });
    conveyors.push(cv1);
    const api1 = await startTestApi({ conveyor: cv1, config: { webhooks } });
    apis.push(api1);
    const secret = await secretOf(api1);
    const task = await createTask(api1, { type: 'noop', payload: { survive: true }, webhook_url: url });
    const before = await historyWith(api1, task.id, 1);
    expect(before.attempts[0]).toMatchObject({ outcome: 'failed', status_code: null, attempt: 1 });
    await api1.close();
    apis.splice(apis.indexOf(api1), 1);
    await cv1.close();
    conveyors.splice(conveyors.indexOf(cv1), 1);
    // What server #1 recorded, read from the file once it is closed.
    const reader = await openTestConveyor({ database });
    const failedBefore = await reader.getWebhookAttempts(task.id).finally(() => reader.close());
    expect(failedBefore.length).toBeGreaterThanOrEqual(1);
    expect(failedBefore.every((x) => x.outcome === 'failed')).toBe(true);

    // The receiver comes up; server #2 opens the same database.
    const rx = await receiver([], port);
    const cv2 = await openTestConveyor({ database });
    conveyors.push(cv2);
    const api2 = await startTestApi({ conveyor: cv2, config: { webhooks } });
    apis.push(api2);
    expect(await secretOf(api2)).toBe(secret); // the stored secret, not a new one
    await waitFor(() => rx.deliveries.length >= 1, 'the delivery after the restart', 15_000);
    await waitFor(
      async () => (await history(api2, task.id)).attempts.some((x) => x.outcome === 'delivered'),
      'a delivered attempt in the history',
    );
    await sleep(500);
    expect(rx.deliveries).toHaveLength(1);
    const body = verified(secret, rx.deliveries[0]!);
    expect(body.type).toBe('task.completed');
    expect(body.data).toMatchObject({ id: task.id, status: 'completed', result: { survive: true } });

    const h = await history(api2, task.id);
    expect(h.attempts.length).toBeGreaterThanOrEqual(failedBefore.length + 1);
    const last = h.attempts[h.attempts.length - 1]!;
    expect(last).toMatchObject({ outcome: 'delivered', status_code: 200 });
    expect(h.attempts.slice(0, -1).every((x) => x.outcome === 'failed')).toBe(true);
    expect(h.attempts.map((x) => x.attempt)).toEqual(h.attempts.map((_, i) => i + 1));
    expect(new Set(h.attempts.map((x) => x.webhook_id)).size).toBe(1);
    expect(last.webhook_id).toBe(rx.deliveries[0]!.headers['webhook-id']);
    expect(new Set(h.attempts.map((x) => x.delivery_task_id)).size).toBe(1);
  });
});

describe('GET /api/webhooks/:task_id/history', () => {
  it('is empty for a task without a webhook and 404 for an unknown id', async () => {
    const a = await api(allowLoopback());
    const task = await createTask(a, { type: 'noop', payload: {} });
    await waitFor(
      async () => (await a.request<TaskJson>('GET', `/api/tasks/${task.id}`)).body.status === 'completed',
      'the task to complete',
    );
    await sleep(200);
    expect(await history(a, task.id)).toEqual({ task_id: task.id, attempts: [] });

    const missing = await a.request<ErrorJson>('GET', '/api/webhooks/no-such-task/history');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    expect(typeof missing.body.error.message).toBe('string');
  });
});
