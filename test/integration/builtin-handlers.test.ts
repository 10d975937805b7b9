/**
 * The built-in task types every server runs (CONTRACT §8), on a real worker over SQLite:
 * `http` against a real local server (SSRF-guarded: loopback refused unless the policy
 * allows it; 5xx retried, 4xx final, JSON decoded, cancel aborts the request), `shell`
 * (registered only when enabled; exit codes, args without a shell, timeouts kill the
 * process group) and `sleep` (progress as it goes).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBuiltinHandlers } from '../../src/api/http/builtin-handlers.js';
import type { Conveyor, WorkItem } from '../../src/index.js';
import { openTestConveyor, waitFor } from '../helpers/conveyors.js';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setUp(options: Parameters<typeof createBuiltinHandlers>[0] = {}): Promise<Conveyor> {
  const cv = await openTestConveyor();
  closers.push(() => cv.close());
  const worker = cv.worker({ handlers: createBuiltinHandlers(options), concurrency: 4 });
  await worker.start();
  closers.push(() => worker.stop());
  return cv;
}

async function local(): Promise<TestHttpServer> {
  const server = await startHttpServer();
  closers.push(() => server.close());
  return server;
}

const FINAL = new Set(['completed', 'failed', 'cancelled', 'skipped']);
async function finished(cv: Conveyor, id: string): Promise<WorkItem> {
  await waitFor(async () => FINAL.has((await cv.getWorkItem(id)).status), `item ${id} to finish`, 20_000);
  return cv.getWorkItem(id);
}

const fast = { maxRetries: 2, backoff: { type: 'fixed' as const, baseMs: 10 } };
const open = { http: { allowPrivate: true } };

describe('the http task type', () => {
  it('refuses a loopback target by default, for good (no retry)', async () => {
    const cv = await setUp();
    const target = await local();
    const item = await cv.enqueueWorkItem({
      type: 'http',
      payload: { url: `${target.url}/json` },
      constraints: fast,
    });
    const done = await finished(cv, item.id);
    expect(done.status).toBe('failed');
    expect(done.attempts).toBe(1);
    expect(done.error?.message).toMatch(/URL refused: 127\.0\.0\.1 is a private or reserved address/);
    expect(target.requests).toHaveLength(0);
  });

  it('refuses a name that resolves to loopback, and non-http schemes', async () => {
    const cv = await setUp();
    const target = await local();
    const port = new URL(target.url).port;
    const byName = await cv.enqueueWorkItem({
      type: 'http',
      payload: { url: `http://localhost:${port}/json` },
    });
    const file = await cv.enqueueWorkItem({ type: 'http', payload: { url: 'file:///etc/passwd' } });
    expect((await finished(cv, byName.id)).error?.message).toMatch(/localhost resolves to/);
    expect((await finished(cv, file.id)).error?.message).toMatch(/scheme file: is not http or https/);
    expect(target.requests).toHaveLength(0);
  });

  it('allowed by the policy: sends method, headers and a JSON body; decodes a JSON answer', async () => {
    const cv = await setUp(open);
    const target = await local();
    const item = await cv.enqueueWorkItem({
      type: 'http',
      payload: { url: `${target.url}/echo`, method: 'POST', headers: { 'x-trace': 'abc' }, body: { a: 1 } },
    });
    const done = await finished(cv, item.id);
    expect(done.status).toBe('completed');
    const result = done.output as {
      status: number;
      body: { method: string; headers: Record<string, string>; body: string };
    };
    expect(result.status).toBe(200);
    expect(result.body.method).toBe('POST');
    expect(result.body.headers['x-trace']).toBe('abc');
    expect(result.body.headers['content-type']).toBe('application/json');
    expect(JSON.parse(result.body.body)).toEqual({ a: 1 });
  });

  it('retries a 5xx with the item backoff, and completes when it recovers', async () => {
    const cv = await setUp(open);
    const target = await local();
    const item = await cv.enqueueWorkItem({
      type: 'http',
      payload: { url: `${target.url}/flaky/2/a` },
      constraints: { ...fast, maxRetries: 3 },
    });
    const done = await finished(cv, item.id);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(3);
    expect(target.hits('/flaky/2/a')).toBe(3);
  });

  it('fails a 4xx for good, unless okStatuses lists it', async () => {
    const cv = await setUp(open);
    const target = await local();
    const bad = await cv.enqueueWorkItem({
      type: 'http',
      payload: { url: `${target.url}/status/404` },
      constraints: fast,
    });
    const ok = await cv.enqueueWorkItem({
      type: 'http',
      payload: { url: `${target.url}/status/404`, okStatuses: [404] },
    });
    const failed = await finished(cv, bad.id);
    expect(failed.status).toBe('failed');
    expect(failed.attempts).toBe(1);
    expect(failed.error?.message).toMatch(/answered 404/);
    expect((await finished(cv, ok.id)).status).toBe('completed');
  });

  it('cancelling the task aborts the request in flight', async () => {
    const cv = await setUp(open);
    const target = await local();
    const item = await cv.enqueueWorkItem({ type: 'http', payload: { url: `${target.url}/slow/30000` } });
    await waitFor(() => target.hits('/slow/30000') === 1, 'the request to arrive');
    await cv.cancelWorkItem(item.id);
    await waitFor(() => target.abandoned.length === 1, 'the request to be abandoned');
    expect((await cv.getWorkItem(item.id)).status).toBe('cancelled');
  });

  it.each([
    [{}, /payload\.url/],
    [{ url: 'http://x', method: 'TRACE' }, /payload\.method/],
    [{ url: 'http://x', timeoutMs: -1 }, /payload\.timeoutMs/],
    [{ url: 'http://x', extra: 1 }, /payload/],
    [{ url: 'http://x', headers: { 'bad header': 'v' } }, /payload\.headers/],
  ])('bad payload %j fails at once naming the field', async (payload, message) => {
    const cv = await setUp(open);
    const item = await cv.enqueueWorkItem({ type: 'http', payload, constraints: fast });
    const done = await finished(cv, item.id);
    expect(done.status).toBe('failed');
    expect(done.attempts).toBe(1);
    expect(done.error?.message).toMatch(message);
  });
});

describe('the shell task type', () => {
  it('is not registered unless enabled: the task waits for a worker that has it', async () => {
    expect(Object.keys(createBuiltinHandlers()).sort()).toEqual(['http', 'noop', 'sleep']);
    expect(Object.keys(createBuiltinHandlers({ shell: true })).sort()).toEqual([
      'http',
      'noop',
      'shell',
      'sleep',
    ]);
    const cv = await setUp();
    const item = await cv.enqueueWorkItem({ type: 'shell', payload: { command: 'echo hi' } });
    await new Promise((r) => setTimeout(r, 300));
    expect((await cv.getWorkItem(item.id)).status).toBe('queued');
  });

  it('runs a command through sh, keeping its output and logging its lines', async () => {
    const cv = await setUp({ shell: true });
    const item = await cv.enqueueWorkItem({
      type: 'shell',
      payload: { command: 'echo "hello $WHO"; echo oops >&2', env: { WHO: 'ada' } },
    });
    const done = await finished(cv, item.id);
    expect(done.status).toBe('completed');
    expect(done.output).toEqual({ exitCode: 0, signal: null, stdout: 'hello ada\n', stderr: 'oops\n' });
    const logs = (await cv.getWorkItemLogs(item.id)).map((l) => l.message);
    expect(logs).toEqual(expect.arrayContaining(['stdout: hello ada', 'stderr: oops']));
  });

  it('with args runs the program directly: nothing is interpreted by a shell', async () => {
    const cv = await setUp({ shell: true });
    const item = await cv.enqueueWorkItem({
      type: 'shell',
      payload: { command: 'echo', args: ['$HOME; rm -rf /'] },
    });
    const done = await finished(cv, item.id);
    expect((done.output as { stdout: string }).stdout).toBe('$HOME; rm -rf /\n');
  });

  it('a non-zero exit fails the attempt with the end of stderr, and is retried', async () => {
    const cv = await setUp({ shell: true });
    const item = await cv.enqueueWorkItem({
      type: 'shell',
      payload: { command: 'echo broken >&2; exit 3' },
      constraints: { maxRetries: 1, backoff: { type: 'fixed', baseMs: 10 } },
    });
    const done = await finished(cv, item.id);
    expect(done.status).toBe('failed');
    expect(done.attempts).toBe(2);
    expect(done.error?.message).toMatch(/exited with 3: broken/);
  });

  it('a timeout kills the whole process group', async () => {
    const cv = await setUp({ shell: true });
    const item = await cv.enqueueWorkItem({
      type: 'shell',
      payload: { command: 'sleep 30 & sleep 30; wait', timeoutMs: 200 },
    });
    const done = await finished(cv, item.id);
    expect(done.status).toBe('failed');
    expect(done.error?.message).toMatch(/timed out \(SIGTERM\)/);
  });

  it('a bad payload fails at once naming the field', async () => {
    const cv = await setUp({ shell: true });
    const item = await cv.enqueueWorkItem({ type: 'shell', payload: { command: '' }, constraints: fast });
    const done = await finished(cv, item.id);
    expect(done.attempts).toBe(1);
    expect(done.error?.message).toMatch(/payload\.command/);
  });
});

describe('the sleep task type', () => {
  it('reports progress as it sleeps', async () => {
    const cv = await setUp();
    const item = await cv.enqueueWorkItem({ type: 'sleep', payload: { ms: 1000 } });
    const done = await finished(cv, item.id);
    expect(done.status).toBe('completed');
    const progress = (await cv.getWorkItemReceipts(item.id))
      .filter((r) => r.status === 'progress')
      .map((r) => r.progress);
    expect(progress).toEqual([25, 50, 75]);
  });
});
