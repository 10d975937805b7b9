/**
 * GET /api/events (CONTRACT §6): Server-Sent Events from the persisted event log over a
 * real server. A stream filtered by workflow or task starts at that subject's first event;
 * `Last-Event-ID` (or `?last_event_id=`) resumes right after a seq, none missed, none
 * twice; idle streams get `: ping` comments; unknown or foreign subjects answer 404 and
 * bad queries 400; and a reader that stops reading does not stall the server.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Handler } from '../../src/index.js';
import { parseApiKeys, type ServerConfig } from '../../src/server.js';
import { readSse, startTestApi, type SseEvent, type TestApi } from '../helpers/api-server.js';
import { waitFor } from '../helpers/conveyors.js';

interface WorkflowJson {
  id: string;
  status: string;
  results: Record<string, unknown>;
  [k: string]: unknown;
}

interface TaskJson {
  id: string;
  status: string;
  [k: string]: unknown;
}

interface ErrorJson {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

const apis: TestApi[] = [];
const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const a of apis.splice(0)) await a.close();
});

async function api(
  handlers: Record<string, Handler> = {},
  config: Partial<ServerConfig> = {},
): Promise<TestApi> {
  const a = await startTestApi({ handlers, config });
  apis.push(a);
  return a;
}

/** A promise and the function that resolves it: a handler that waits for the test. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

const ids = (events: SseEvent[]) => events.map((e) => e.id);
const names = (events: SseEvent[]) => events.map((e) => e.event);
const has = (name: string) => (events: SseEvent[]) => events.some((e) => e.event === name);

function strictlyIncreasing(values: number[]): boolean {
  return values.every((v, i) => i === 0 || v > values[i - 1]!);
}

async function startWorkflow(a: TestApi, steps: Array<Record<string, unknown>>): Promise<WorkflowJson> {
  const res = await a.request<WorkflowJson>('POST', '/api/workflows', {
    body: { name: 'wf', start: true, steps },
  });
  expect(res.status, res.text).toBe(202);
  return res.body;
}

/** A GET that gives up after `ms` (for answers that might turn out to be an endless stream). */
async function getWithin(
  url: string,
  ms: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; contentType: string | null; text: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  let status = 0;
  let contentType: string | null = null;
  let text = '';
  try {
    const res = await fetch(url, { headers, signal: controller.signal });
    status = res.status;
    contentType = res.headers.get('content-type');
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
      text += decoder.decode(chunk, { stream: true });
  } catch (e) {
    if (!controller.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { status, contentType, text };
}

/** Step id → the id of its task, from GET /api/workflows/:id/tasks. */
async function stepTasks(a: TestApi, workflowId: string): Promise<Record<string, string>> {
  const res = await a.request<{ tasks: Array<{ id: string; task_id: string }> }>(
    'GET',
    `/api/workflows/${workflowId}/tasks`,
  );
  expect(res.status, res.text).toBe(200);
  return Object.fromEntries(res.body.tasks.map((t) => [t.id, t.task_id]));
}

const TWO_STEPS = [
  { id: 'a', type: 'noop', input: { v: 1 } },
  { id: 'b', type: 'noop', deps: ['a'], input: '{{steps.a.output}}' },
];

describe('SSE of a workflow', () => {
  it('streams a one-shot workflow from workflow_start to workflow_complete', async () => {
    const a = await api();
    const wf = await startWorkflow(a, TWO_STEPS);
    const { status, events } = await readSse(
      `${a.url}/api/events?workflow_id=${wf.id}`,
      has('workflow_complete'),
    );
    expect(status).toBe(200);
    expect(events.length).toBeGreaterThanOrEqual(6);
    expect(events[0]!.event).toBe('workflow_start');
    expect(events[events.length - 1]!.event).toBe('workflow_complete');
    expect(strictlyIncreasing(ids(events))).toBe(true);
    for (const e of events) {
      expect(e.data.seq).toBe(e.id);
      expect(e.data.type).toBe(e.event);
      expect(e.data.workflow_id).toBe(wf.id);
      expect(Number.isNaN(Date.parse(String(e.data.at)))).toBe(false);
    }
    const taskOf = await stepTasks(a, wf.id);
    const step = (name: string, id: string) =>
      events.findIndex((e) => e.event === name && e.data.task_id === taskOf[id]);
    for (const id of ['a', 'b']) {
      expect(step('step_start', id), `step_start ${id}`).toBeGreaterThan(0);
      expect(step('step_complete', id), `step_complete ${id}`).toBeGreaterThan(step('step_start', id));
    }
    // b runs after a has completed (its input is a's output).
    expect(step('step_start', 'b')).toBeGreaterThan(step('step_complete', 'a'));
    const b = events[step('step_complete', 'b')]!;
    expect(b.data.result).toEqual({ v: 1 });
    expect(b.data.status).toBe('completed');
    expect(typeof b.data.task_id).toBe('string');
    // Every step event names its step.
    for (const e of events.filter((x) => x.data.task_id !== null))
      expect(e.data.step_id, `${e.event} ${e.data.task_id}`).toBe(taskOf.a === e.data.task_id ? 'a' : 'b');
    expect(events[events.length - 1]!.data.status).toBe('completed');
    expect(events[events.length - 1]!.data.task_id).toBeNull();
    // Nothing of another workflow.
    const other = await startWorkflow(a, TWO_STEPS);
    const again = await readSse(`${a.url}/api/events?workflow_id=${other.id}`, has('workflow_complete'));
    expect(again.events.every((e) => e.data.workflow_id === other.id)).toBe(true);
    expect(new Set(ids(again.events)).size).toBe(again.events.length);
  });

  it('resumes with Last-Event-ID mid-run: the two reads make exactly the full stream', async () => {
    const g = gate();
    cleanups.push(g.open); // a failing assertion must not leave the handler waiting forever
    const a = await api({
      wait: async (payload: unknown) => {
        await g.opened;
        return payload;
      },
    });
    const wf = await startWorkflow(a, [
      { id: 'a', type: 'noop', input: { v: 1 } },
      { id: 'b', type: 'wait', deps: ['a'], input: { v: 2 } },
      { id: 'c', type: 'noop', deps: ['b'], input: '{{steps.b.output}}' },
      { id: 'd', type: 'noop', deps: ['b'], input: { v: 4 } },
    ]);
    const url = `${a.url}/api/events?workflow_id=${wf.id}`;
    const taskOf = await stepTasks(a, wf.id);
    // First read: until b has started (it then waits for the gate), then disconnect.
    const first = await readSse(url, (events) =>
      events.some((e) => e.event === 'step_start' && e.data.task_id === taskOf.b),
    );
    expect(first.status).toBe(200);
    expect(has('workflow_complete')(first.events)).toBe(false);
    const last = first.events[first.events.length - 1]!.id;

    // The rest of the run happens while nobody is connected, and some of it after reconnecting.
    g.open();
    await new Promise((r) => setTimeout(r, 30));
    const second = await readSse(url, has('workflow_complete'), {
      headers: { 'Last-Event-ID': String(last) },
    });
    expect(second.status).toBe(200);
    expect(second.events.length).toBeGreaterThan(0);
    expect(second.events[0]!.id).toBeGreaterThan(last);
    expect(second.events.some((e) => e.event === 'step_complete' && e.data.task_id === taskOf.b)).toBe(true);

    const full = await readSse(url, has('workflow_complete'));
    const union = [...ids(first.events), ...ids(second.events)];
    expect(new Set(union).size).toBe(union.length); // none twice
    expect(union).toEqual(ids(full.events)); // none missed, in order
    expect([...names(first.events), ...names(second.events)]).toEqual(names(full.events));
    expect(full.events[full.events.length - 1]!.event).toBe('workflow_complete');
  });

  it('?last_event_id= resumes like the header', async () => {
    const a = await api();
    const wf = await startWorkflow(a, TWO_STEPS);
    const url = `${a.url}/api/events?workflow_id=${wf.id}`;
    const full = await readSse(url, has('workflow_complete'));
    expect(full.events.length).toBeGreaterThanOrEqual(4);
    const cut = Math.floor(full.events.length / 2);
    const after = full.events[cut - 1]!.id;
    const expected = ids(full.events.slice(cut));

    const byQuery = await readSse(`${url}&last_event_id=${after}`, has('workflow_complete'));
    expect(byQuery.status).toBe(200);
    expect(ids(byQuery.events)).toEqual(expected);
    const byHeader = await readSse(url, has('workflow_complete'), {
      headers: { 'last-event-id': String(after) },
    });
    expect(ids(byHeader.events)).toEqual(expected);
    // Resuming after the last event: nothing more comes (the stream stays open, idle).
    const atEnd = await readSse(
      `${url}&last_event_id=${full.events[full.events.length - 1]!.id}`,
      () => false,
      {
        timeoutMs: 600,
      },
    );
    expect(atEnd.events).toEqual([]);
    // A malformed query value is refused.
    const bad = await getWithin(`${url}&last_event_id=abc`, 2000);
    expect(bad.status).toBe(400);
  });
});

describe('SSE of a task', () => {
  it('task_id: task_queued, task_start, task_progress, task_complete', async () => {
    const a = await api({
      report: async (payload: unknown, ctx) => {
        await ctx.progress(50, 'half way');
        return { done: payload };
      },
    });
    const res = await a.request<TaskJson>('POST', '/api/tasks', {
      body: { name: 'reporting', type: 'report', payload: { k: 'v' } },
    });
    expect(res.status, res.text).toBe(201);
    const id = res.body.id;
    const { status, events } = await readSse(`${a.url}/api/events?task_id=${id}`, has('task_complete'));
    expect(status).toBe(200);
    expect(names(events)).toEqual(['task_queued', 'task_start', 'task_progress', 'task_complete']);
    expect(strictlyIncreasing(ids(events))).toBe(true);
    expect(events.every((e) => e.data.task_id === id && e.data.workflow_id === null)).toBe(true);
    expect(events[2]!.data).toMatchObject({ progress: 50, message: 'half way' });
    expect(events[3]!.data).toMatchObject({ status: 'completed', result: { done: { k: 'v' } } });
    expect(events[0]!.data.status).toBe('queued');
  });
});

describe('SSE connection behaviour', () => {
  it('sends heartbeat comments on an idle stream', async () => {
    const a = await api({}, { sseHeartbeatSeconds: 1 });
    const started = Date.now();
    const res = await getWithin(`${a.url}/api/events`, 2600);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500); // the stream stayed open
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/event-stream/);
    const pings = res.text.split('\n\n').filter((frame) => frame === ': ping');
    expect(pings.length).toBeGreaterThanOrEqual(2);
    expect(pings.length).toBeLessThanOrEqual(3);
    expect(res.text).not.toMatch(/^event:/m); // idle: no events at all
  });

  it('an unfiltered stream starts at now: earlier events are not replayed', async () => {
    const a = await api();
    const before = await a.request<TaskJson>('POST', '/api/tasks', { body: { type: 'noop', payload: {} } });
    await waitFor(
      async () =>
        (await a.request<TaskJson>('GET', `/api/tasks/${before.body.id}`)).body.status === 'completed',
      'the first task',
    );
    const created = { id: '' };
    const reading = readSse(`${a.url}/api/events`, (events) =>
      events.some((e) => e.event === 'task_complete' && e.data.task_id === created.id),
    );
    await new Promise((r) => setTimeout(r, 200)); // the stream is open
    const after = await a.request<TaskJson>('POST', '/api/tasks', { body: { type: 'noop', payload: {} } });
    created.id = after.body.id;
    const { status, events } = await reading;
    expect(status).toBe(200);
    expect(events.some((e) => e.data.task_id === before.body.id)).toBe(false);
    expect(events.filter((e) => e.data.task_id === created.id).map((e) => e.event)).toEqual([
      'task_queued',
      'task_start',
      'task_complete',
    ]);
  });

  it('answers 404 for an unknown workflow_id or task_id, 400 for a malformed one', async () => {
    const a = await api();
    const unknown = await getWithin(`${a.url}/api/events?workflow_id=wf_does_not_exist`, 2000);
    expect(unknown.status).toBe(404);
    expect(unknown.contentType).toMatch(/^application\/json/);
    const body = JSON.parse(unknown.text) as ErrorJson;
    expect(body.error.code).toBe('NOT_FOUND');
    expect(typeof body.error.message).toBe('string');

    const noTask = await getWithin(`${a.url}/api/events?task_id=nope`, 2000);
    expect(noTask.status).toBe(404);
    expect((JSON.parse(noTask.text) as ErrorJson).error.code).toBe('NOT_FOUND');

    const spaces = await getWithin(`${a.url}/api/events?task_id=${encodeURIComponent('has spaces')}`, 2000);
    expect(spaces.status).toBe(400);
    expect((JSON.parse(spaces.text) as ErrorJson).error.code).toBe('VALIDATION');

    const extra = await getWithin(`${a.url}/api/events?bogus=1`, 2000);
    expect(extra.status).toBe(400);
  });

  it("answers 404 for another tenant's workflow or task", async () => {
    const keyA = 'alpha-key-0123456789';
    const keyB = 'bravo-key-0123456789';
    const a = await api({}, { apiKeys: parseApiKeys(`${keyA}:alpha,${keyB}:bravo`) });
    const auth = (k: string) => ({ authorization: `Bearer ${k}` });
    const res = await a.request<WorkflowJson>('POST', '/api/workflows', {
      key: keyA,
      body: { name: 'mine', start: true, steps: TWO_STEPS },
    });
    expect(res.status, res.text).toBe(202);
    const task = await a.request<TaskJson>('POST', '/api/tasks', {
      key: keyA,
      body: { type: 'noop', payload: {} },
    });
    expect(task.status).toBe(201);

    // The owner sees its stream …
    const own = await readSse(`${a.url}/api/events?workflow_id=${res.body.id}`, has('workflow_complete'), {
      headers: auth(keyA),
    });
    expect(own.status).toBe(200);
    expect(has('workflow_start')(own.events)).toBe(true);
    // … another tenant gets 404, as if it did not exist.
    const foreign = await getWithin(`${a.url}/api/events?workflow_id=${res.body.id}`, 2000, auth(keyB));
    expect(foreign.status).toBe(404);
    expect((JSON.parse(foreign.text) as ErrorJson).error.code).toBe('NOT_FOUND');
    const foreignTask = await getWithin(`${a.url}/api/events?task_id=${task.body.id}`, 2000, auth(keyB));
    expect(foreignTask.status).toBe(404);
    // Without a key: 401.
    const anonymous = await getWithin(`${a.url}/api/events?workflow_id=${res.body.id}`, 2000);
    expect(anonymous.status).toBe(401);
  });

  it('a reader that never reads does not stall the server', async () => {
    const a = await api();
    const { port } = new URL(a.url);
    // The server's end of the connection, to see what it holds for the reader.
    let serverSide: net.Socket | undefined;
    a.server.app.server.once('connection', (s: net.Socket) => (serverSide = s));
    const socket = net.connect(Number(port), '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
    // Read the response head (the stream is open), then stop reading for good.
    const head = await new Promise<string>((resolve) =>
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString())),
    );
    socket.pause();
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(head).toMatch(/content-type: text\/event-stream/i);

    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    for (let batch = 0; batch < 5; batch++) {
      const items = Array.from({ length: 1000 }, (_, i) => ({
        type: 'noop',
        payload: { batch, i, pad: 'x'.repeat(4000) },
      }));
      await a.cv.enqueueWorkItems(items);
    }
    // While the stream is backed up, the API answers promptly.
    await new Promise((r) => setTimeout(r, 1500));
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const health = await a.request<{ status: string }>('GET', '/health');
      expect(health.status).toBe(200);
      expect(health.body.status).toBe('ok');
      expect(Date.now() - t0).toBeLessThan(3000);
    }
    // The work goes on too: tasks complete while the reader sleeps (their events, each
    // carrying a 4 kB result, are far more than the socket buffers hold).
    await waitFor(async () => (await a.cv.getCounts()).completed >= 2500, '2500 completed tasks', 10_000);
    // Backpressure engaged (the test did back the stream up) and what waits in the
    // server's buffer for the reader is small: the server stopped writing, not queued it all.
    expect(serverSide).toBeDefined();
    expect(serverSide!.writableNeedDrain).toBe(true);
    expect(serverSide!.writableLength).toBeLessThan(1024 * 1024);
    const grown = process.memoryUsage().heapUsed - heapBefore;
    expect(grown).toBeLessThan(200 * 1024 * 1024);
    expect(socket.destroyed).toBe(false);
    expect(Date.now() - started).toBeLessThan(14_000);

    // The stream is still alive and well-formed once the reader reads again.
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.resume();
    await waitFor(() => (text.match(/^event: /gm) ?? []).length >= 50, '50 events after resuming', 5000);
    const seqs = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(seqs.length).toBeGreaterThanOrEqual(50);
    expect(strictlyIncreasing(seqs)).toBe(true);
  }, 20_000);
});
