/**
 * What a browser can and cannot make the server do (CONTRACT §6, §7, §9): DNS rebinding
 * (a page whose name points at 127.0.0.1 sends `Host: evil.example`) and cross-site
 * requests (`Origin` of another site) are refused with FORBIDDEN_HOST before anything
 * runs, on the REST API and on POST /mcp; the dashboard's own same-origin requests pass.
 * Also: the dashboard's files are served at `/` without a key and with a strict CSP, and
 * GET /api/stats/queue gives the samples the dashboard draws.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFromEnv, parseApiKeys } from '../../src/server.js';
import { startTestApi, type TestApi } from '../helpers/api-server.js';
import { tempDir, waitFor } from '../helpers/conveyors.js';

const opened: TestApi[] = [];
async function start(options: Parameters<typeof startTestApi>[0] = {}): Promise<TestApi> {
  const api = await startTestApi({ dashboardDir: false, ...options });
  opened.push(api);
  return api;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((a) => a.close()));
});

/** A raw request, so Host can be anything (fetch always sends the URL's host). */
function raw(
  api: TestApi,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const url = new URL(api.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const mcpList = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
const mcpHeaders = { accept: 'application/json, text/event-stream' };

describe('DNS rebinding and cross-site requests', () => {
  it('without keys, a Host that is not a loopback name is refused everywhere, and nothing is written', async () => {
    const api = await start();
    const port = new URL(api.url).port;
    const evil = { host: `evil.example:${port}` };
    const created = await raw(api, 'POST', '/api/tasks', evil, JSON.stringify({ type: 'noop' }));
    expect(created.status).toBe(403);
    expect(created.body.error.code).toBe('FORBIDDEN_HOST');
    expect(created.body.error.message).toMatch(/evil\.example/);
    expect((await raw(api, 'POST', '/mcp', { ...evil, ...mcpHeaders }, mcpList)).status).toBe(403);
    expect((await raw(api, 'GET', '/api/tasks', evil)).status).toBe(403);
    expect((await api.cv.listWorkItems()).items).toHaveLength(0);
  });

  it.each(['127.0.0.1', 'localhost', '[::1]', '127.0.0.2'])('Host %s passes', async (name) => {
    const api = await start();
    const port = new URL(api.url).port;
    const res = await raw(api, 'GET', '/api/tasks', { host: `${name}:${port}` });
    expect(res.status).toBe(200);
  });

  it('an Origin of another site is refused; the same origin and loopback origins pass', async () => {
    const api = await start();
    const host = new URL(api.url).host;
    const other = await raw(
      api,
      'POST',
      '/api/tasks',
      { host, origin: 'https://evil.example' },
      '{"type":"noop"}',
    );
    expect(other.status).toBe(403);
    expect(other.body.error.message).toMatch(/evil\.example/);
    const hidden = await raw(api, 'POST', '/mcp', { host, origin: 'null', ...mcpHeaders }, mcpList);
    expect(hidden.status).toBe(403);
    expect((await raw(api, 'POST', '/api/tasks', { host, origin: api.url }, '{"type":"noop"}')).status).toBe(
      201,
    );
    const mcp = await raw(
      api,
      'POST',
      '/mcp',
      { host, origin: 'http://localhost:5173', ...mcpHeaders },
      mcpList,
    );
    expect(mcp.status).toBe(200);
    expect(mcp.body.result.tools.length).toBeGreaterThan(5);
    expect((await api.cv.listWorkItems()).items).toHaveLength(1);
  });

  it('CONVEYOR_ALLOWED_HOSTS lets a named host through, and with keys only the listed hosts pass', async () => {
    const key = 'a-key-of-sixteen-chars';
    const api = await start({
      env: { CONVEYOR_ALLOWED_HOSTS: 'conveyor.internal' },
      config: { apiKeys: parseApiKeys(`${key}:acme`) },
    });
    const port = new URL(api.url).port;
    const auth = { authorization: `Bearer ${key}` };
    expect((await raw(api, 'GET', '/api/tasks', { ...auth, host: `conveyor.internal:${port}` })).status).toBe(
      200,
    );
    expect((await raw(api, 'GET', '/api/tasks', { ...auth, host: `other.internal:${port}` })).status).toBe(
      403,
    );
  });

  it('with keys and no list, any Host passes (a rebinding page has no key), Origin is still checked', async () => {
    const key = 'a-key-of-sixteen-chars';
    const api = await start({ config: { apiKeys: parseApiKeys(`${key}:acme`) } });
    const auth = { authorization: `Bearer ${key}` };
    expect((await raw(api, 'GET', '/api/tasks', { ...auth, host: 'conveyor.example.com' })).status).toBe(200);
    const crossSite = await raw(api, 'GET', '/api/tasks', {
      ...auth,
      host: 'conveyor.example.com',
      origin: 'https://evil.example',
    });
    expect(crossSite.status).toBe(403);
  });

  it('a malformed CONVEYOR_ALLOWED_HOSTS fails the start naming the variable', () => {
    expect(() => configFromEnv({ CONVEYOR_ALLOWED_HOSTS: 'http://x.example/' })).toThrow(
      /CONVEYOR_ALLOWED_HOSTS/,
    );
    expect(configFromEnv({ CONVEYOR_ALLOWED_HOSTS: 'A.example, b.example' }).allowedHosts).toEqual([
      'a.example',
      'b.example',
    ]);
  });
});

describe('the dashboard files', () => {
  function fakeBuild(): string {
    const dir = tempDir('conveyor-dashboard-');
    mkdirSync(join(dir, 'assets'));
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><title>Conveyor</title><script type="module" src="./assets/app-1.js"></script>',
    );
    writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log("hi")');
    return dir;
  }

  it('are served at / without a key, with a CSP and caching fit for hashed assets', async () => {
    const api = await start({
      dashboardDir: fakeBuild(),
      config: { apiKeys: parseApiKeys('a-key-of-sixteen-chars:acme') },
    });
    const page = await api.request('GET', '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Conveyor</title>');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const asset = await api.request('GET', '/assets/app-1.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    // The data still needs a key.
    expect((await api.request('GET', '/api/tasks')).status).toBe(401);
    expect((await api.request('GET', '/assets/../index.html')).status).not.toBe(500);
  });

  it('without a build (no index.html), / says how to make one; dashboard: false serves nothing at /', async () => {
    const empty = await start({ dashboardDir: tempDir('conveyor-nodash-') });
    const res = await empty.request('GET', '/');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/npm run build/);
    const off = await start({ dashboardDir: fakeBuild(), config: { dashboard: false } });
    const none = await off.request('GET', '/');
    expect(none.status).toBe(404);
    expect(none.body.error.message).toMatch(/no route GET \//);
  });
});

describe('GET /api/stats/queue', () => {
  it("samples this tenant's counts over time, oldest first", async () => {
    const api = await start({ config: { statsIntervalMs: 50 } });
    await api.request('POST', '/api/tasks', { body: { type: 'nobody-runs-this' } });
    await waitFor(async () => {
      const res = await api.request('GET', '/api/stats/queue');
      return res.body.samples.some((s: any) => s.counts.queued === 1) && res.body.samples.length >= 3;
    }, 'samples with the queued task');
    const { body } = await api.request('GET', '/api/stats/queue');
    expect(body.interval_ms).toBe(50);
    expect(body.now.counts.queued).toBe(1);
    const times = body.samples.map((s: any) => Date.parse(s.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(Object.keys(body.samples[0].counts).sort()).toEqual([
      'assigned',
      'cancelled',
      'completed',
      'failed',
      'pending',
      'queued',
      'running',
      'skipped',
    ]);
  });
});
