/**
 * The ready-made resources on real components: the memory cache, the Redis cache on the
 * local Redis, the HTTP client against a real node:http server, the database factories on
 * the local PostgreSQL and a temp SQLite file, and a Conveyor whose handlers reach them
 * through `ctx.resources` — each created once, each closed by `cv.close()`.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createConveyor,
  createHttpClient,
  createManualClock,
  createMemoryCache,
  createPostgresPool,
  createRedisCache,
  createSqliteDatabase,
  HttpError,
  type Cache,
  type Conveyor,
  type ConveyorOptions,
  type HttpClient,
  type RedisCache,
} from '../../src/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { ResourceRegistry } from '../../src/resources/registry.js';
import { PG_URL, requirePostgres } from '../helpers/backends.js';
import { tempDir, trackConveyor, waitFor } from '../helpers/conveyors.js';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.js';
import { REDIS_URL, requireRedis, testRedis } from '../helpers/services.js';

const postgres = await requirePostgres('resources.test.ts (database factories)');
const redis = await requireRedis('resources.test.ts (Redis cache)');

const later = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));
/** Pushes `value` onto `list` and returns it: a factory that counts what it made. */
const keep = <T>(list: T[], value: T) => (list.push(value), value);
const randomPrefix = () => `cvtest:${Math.random().toString(36).slice(2)}:`;

/** What every Cache must do, whichever backend; `open` gives a fresh, empty one. */
function cacheContract(open: () => Cache) {
  let cache: Cache;
  beforeEach(() => {
    cache = open();
  });
  afterEach(() => cache.close());

  it('stores JSON, returns copies, deletes', async () => {
    const value = { n: 1, list: [1, 'two', null], nested: { ok: true } };
    await cache.set('k', value);
    const got = await cache.get<typeof value>('k');
    expect(got).toEqual(value);
    got!.n = 99;
    expect(await cache.get('k')).toEqual(value);
    expect(await cache.get('missing')).toBeUndefined();
    expect(await cache.delete('k')).toBe(true);
    expect(await cache.delete('k')).toBe(false);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('refuses what JSON cannot carry and bad TTLs', async () => {
    await expect(cache.set('k', undefined as never)).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(cache.set('k', { d: new Date() } as never)).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(cache.set('k', 1, { ttlMs: 0 })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(cache.get('')).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  it('getOrSet loads once for concurrent callers, then serves the cached value', async () => {
    let loads = 0;
    const load = async () => {
      loads++;
      return later(20, { loaded: loads });
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => cache.getOrSet('g', 60_000, load)));
    expect(loads).toBe(1);
    for (const r of results) expect(r).toEqual({ loaded: 1 });
    expect(await cache.getOrSet('g', 60_000, load)).toEqual({ loaded: 1 });
    expect(loads).toBe(1);
    expect(await cache.get('g')).toEqual({ loaded: 1 });
  });

  it('getOrSet caches nothing when load throws, and rejects every waiter', async () => {
    const boom = async (): Promise<number> => {
      await later(10, null);
      throw new Error('backend down');
    };
    const all = await Promise.allSettled([cache.getOrSet('f', 1000, boom), cache.getOrSet('f', 1000, boom)]);
    expect(all.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await cache.get('f')).toBeUndefined();
    expect(await cache.getOrSet('f', 1000, () => Promise.resolve(7))).toBe(7);
  });

  it('throws CLOSED after close', async () => {
    await cache.close();
    await expect(cache.get('k')).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(cache.getOrSet('k', 10, () => Promise.resolve(1))).rejects.toMatchObject({ code: 'CLOSED' });
    await cache.close(); // twice is fine
  });
}

describe('memory cache', () => {
  cacheContract(() => createMemoryCache());

  it('honours TTLs on its clock', async () => {
    const clock = createManualClock();
    const cache = createMemoryCache({ clock });
    await cache.set('t', 'v', { ttlMs: 1000 });
    await cache.set('forever', 'v');
    clock.advance(999);
    expect(await cache.get('t')).toBe('v');
    clock.advance(1);
    expect(await cache.get('t')).toBeUndefined();
    expect(await cache.delete('t')).toBe(false);
    clock.advance(1e9);
    expect(await cache.get('forever')).toBe('v');
    let loads = 0;
    const load = () => Promise.resolve(++loads);
    expect(await cache.getOrSet('g', 100, load)).toBe(1);
    clock.advance(100);
    expect(await cache.getOrSet('g', 100, load)).toBe(2);
  });

  it('evicts the least recently used entry past maxEntries', async () => {
    const cache = createMemoryCache({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) await cache.set(k, k);
    expect(await cache.get('a')).toBe('a'); // a is now the most recent
    await cache.set('d', 'd');
    expect(await cache.get('b')).toBeUndefined();
    for (const k of ['a', 'c', 'd']) expect(await cache.get(k)).toBe(k);
    expect(() => createMemoryCache({ maxEntries: 0 })).toThrow(/maxEntries/);
  });
});

describe.skipIf(!redis)('redis cache', () => {
  let raw: Redis;
  let prefix: string;
  beforeAll(() => {
    raw = testRedis();
  });
  afterAll(() => raw.quit());
  beforeEach(() => {
    prefix = randomPrefix();
  });
  afterEach(async () => {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
  });

  cacheContract(() => createRedisCache({ url: REDIS_URL, keyPrefix: prefix }));

  it('stores JSON text under the prefix, with PX TTLs', async () => {
    const cache = createRedisCache({ url: REDIS_URL, keyPrefix: prefix });
    await cache.set('user:1', { name: 'Ada' }, { ttlMs: 5000 });
    await cache.set('plain', [1, 2]);
    expect(await raw.get(`${prefix}user:1`)).toBe('{"name":"Ada"}');
    const pttl = await raw.pttl(`${prefix}user:1`);
    expect(pttl).toBeGreaterThan(4000);
    expect(pttl).toBeLessThanOrEqual(5000);
    expect(await raw.pttl(`${prefix}plain`)).toBe(-1);
    await cache.set('short', 1, { ttlMs: 50 });
    await later(120, null);
    expect(await cache.get('short')).toBeUndefined();
    await cache.close();
    expect(cache.client.status).toBe('end');
  });

  it('keeps prefixes apart, and leaves a client it was given open', async () => {
    const client = testRedis();
    const a = createRedisCache({ client, keyPrefix: prefix + 'a:' });
    const b = createRedisCache({ client, keyPrefix: prefix + 'b:' });
    await a.set('k', 'from a');
    expect(await b.get('k')).toBeUndefined();
    await a.close();
    await b.close();
    expect(client.status).toBe('ready');
    expect(await client.get(`${prefix}a:k`)).toBe('"from a"');
    await client.quit();
    expect(() => createRedisCache({ url: REDIS_URL, client })).toThrow(/url or client/);
  });
});

describe('redis cache without a server', () => {
  it('fails a command within a second, reports the cause once, and closes at once', async () => {
    const down = await startHttpServer();
    await down.close(); // a loopback port nobody listens on
    const warnings: string[] = [];
    const cache = createRedisCache({
      url: down.url.replace('http', 'redis'),
      logger: { ...silentLogger, warn: (m) => warnings.push(m) },
    });
    const started = Date.now();
    await expect(cache.get('k')).rejects.toThrow(/max retries/i);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/ECONNREFUSED/);
    await cache.close();
    expect(['end', 'reconnecting']).toContain(cache.client.status);
  });
});

describe('http client', () => {
  let server: TestHttpServer;
  let http: HttpClient;
  beforeEach(async () => {
    server = await startHttpServer();
    http = createHttpClient({ baseUrl: `${server.url}/api`, retryDelayMs: 1, headers: { 'x-app': 'test' } });
  });
  afterEach(async () => {
    await http.close();
    await server.close();
  });

  it('parses JSON bodies, returns text bodies, joins baseUrl, path and query', async () => {
    const j = await http.get<{ hello: string }>('/json', { query: { a: 1, b: 'x y', skip: undefined } });
    expect(j).toMatchObject({ status: 200, body: { hello: 'world' } });
    expect(j.headers['content-type']).toMatch(/^application\/json/);
    expect(server.requests[0]!.url).toBe('/api/json?a=1&b=x+y');
    const t = await http.get('text');
    expect(t.body).toBe('plain text');
    const abs = await http.get(`${server.url}/json`);
    expect(abs.body).toEqual({ hello: 'world' });
    await expect(http.get('/bad-json')).rejects.toMatchObject({ code: 'HTTP_FAILED' });
  });

  it('sends JSON with post and put, merges headers', async () => {
    const r = await http.post<{ method: string; body: string; headers: Record<string, string> }>(
      '/echo',
      { n: 1 },
      { headers: { 'x-req': 'yes' } },
    );
    expect(r.body.method).toBe('POST');
    expect(JSON.parse(r.body.body)).toEqual({ n: 1 });
    expect(r.body.headers).toMatchObject({
      'content-type': 'application/json',
      'x-app': 'test',
      'x-req': 'yes',
    });
    const p = await http.put<{ method: string }>('/echo', [1]);
    expect(p.body.method).toBe('PUT');
    const raw = await http.request<{ body: string }>('patch', '/echo', { body: 'raw text' });
    expect(raw.body.body).toBe('raw text');
  });

  it('throws a typed HttpError for a failed status, unless throwOnError is off', async () => {
    const e = await http.get('/status/404').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(HttpError);
    expect(e).toMatchObject({ code: 'HTTP_STATUS', status: 404, method: 'GET' });
    expect((e as HttpError).response!.body).toEqual({ error: 'status 404' });
    expect((e as HttpError).message).toBe(`GET ${server.url}/api/status/404: 404 Not Found`);
    const r = await http.delete('/status/404', { throwOnError: false });
    expect(r.status).toBe(404);
    expect(server.hits('/status/404')).toBe(2); // a 404 is never retried
  });

  it('retries 503 for GET but not for POST', async () => {
    expect((await http.get('/flaky/2/get')).body).toEqual({ ok: true });
    expect(server.hits('/flaky/2/get')).toBe(3);
    await expect(http.post('/flaky/2/post', {})).rejects.toMatchObject({ code: 'HTTP_STATUS', status: 503 });
    expect(server.hits('/flaky/2/post')).toBe(1);
    await expect(http.get('/flaky/5/many')).rejects.toMatchObject({ status: 503 });
    expect(server.hits('/flaky/5/many')).toBe(3); // 1 + 2 retries
  });

  it('times out a slow request (HTTP_TIMEOUT), without retrying it', async () => {
    const started = Date.now();
    const e = await http.get('/slow/2000', { timeoutMs: 80 }).catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'HTTP_TIMEOUT', method: 'GET' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(server.hits('/slow/2000')).toBe(1);
    expect((await http.get('/slow/10', { timeoutMs: 1000 })).body).toEqual({ slow: true });
  });

  it('aborts when the passed signal aborts, with the signal’s reason', async () => {
    const controller = new AbortController();
    const reason = new Error('item cancelled');
    setTimeout(() => controller.abort(reason), 30);
    await expect(http.get('/slow/2000', { signal: controller.signal })).rejects.toBe(reason);
    await waitFor(() => server.abandoned.length === 1, 'the server to see the request abandoned');
    await expect(http.get('/json', { signal: controller.signal })).rejects.toBe(reason);
    expect(server.hits('/json')).toBe(0);
  });

  it('retries network errors for idempotent methods (HTTP_FAILED), and refuses requests after close', async () => {
    const down = await startHttpServer();
    await down.close();
    const client = createHttpClient({ baseUrl: down.url, retries: 1, retryDelayMs: 1 });
    const e = await client.get('/json').catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'HTTP_FAILED' });
    expect((e as Error).message).toMatch(/ECONNREFUSED/);
    await client.close();
    await client.close();
    await expect(client.get('/json')).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(createHttpClient().get('/relative')).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(() => createHttpClient({ timeoutMs: -1 })).toThrow(/timeoutMs/);
  });
});

describe('database factories', () => {
  it.skipIf(!postgres)('a pg.Pool, closed by the registry through end()', async () => {
    const registry = new ResourceRegistry({ db: () => createPostgresPool({ url: PG_URL, max: 2 }) });
    const pool = await registry.get<pg.Pool>('db');
    const { rows } = await pool.query<{ n: number; app: string }>(
      "SELECT $1::int * 2 AS n, current_setting('application_name') AS app",
      [21],
    );
    expect(rows[0]).toEqual({ n: 42, app: 'conveyor-handler' });
    expect(pool.ended).toBe(false);
    expect(await registry.closeAll()).toEqual([]);
    expect(pool.ended).toBe(true);
    expect(pool.totalCount).toBe(0);
    expect(() => createPostgresPool({ url: 'mysql://x' })).toThrow(/postgres:\/\//);
  });

  it('a better-sqlite3 Database in WAL, read-only on request, closed by the registry through close()', async () => {
    const filename = join(tempDir(), 'app.db');
    const registry = new ResourceRegistry({ db: () => createSqliteDatabase({ filename }) });
    const db = await registry.get<Database.Database>('db');
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.exec('CREATE TABLE t (v TEXT)');
    db.prepare('INSERT INTO t VALUES (?)').run('hello');
    const ro = createSqliteDatabase({ filename, readonly: true });
    expect(ro.prepare('SELECT v FROM t').get()).toEqual({ v: 'hello' });
    expect(() => ro.exec('INSERT INTO t VALUES (1)')).toThrow(/readonly/);
    ro.close();
    expect(await registry.closeAll()).toEqual([]);
    expect(db.open).toBe(false);
    expect(() => createSqliteDatabase({ filename: join(tempDir(), 'none.db'), readonly: true })).toThrow();
  });
});

describe('resources in a Conveyor', () => {
  let server: TestHttpServer;
  let cv: Conveyor | undefined;
  beforeEach(async () => {
    server = await startHttpServer();
  });
  afterEach(async () => {
    await cv?.close();
    cv = undefined;
    await server.close();
  });

  async function open(options: ConveyorOptions) {
    cv = await createConveyor({ database: ':memory:', logger: silentLogger, changePollMs: 10, ...options });
    trackConveyor(cv);
    return cv;
  }

  it('creates each resource once for many items, reaches it from handlers, closes it with cv.close()', async () => {
    const made = { cache: [] as Cache[], http: [] as HttpClient[] };
    const c = await open({
      resources: {
        cache: () => keep(made.cache, createMemoryCache()),
        http: () => keep(made.http, createHttpClient({ baseUrl: server.url })),
      },
    });
    const worker = c.worker({
      concurrency: 8,
      handlers: {
        greet: async (p: { user: number }, ctx) => {
          const cache = await ctx.resources.get<Cache>('cache');
          const http = await ctx.resources.get<HttpClient>('http');
          return cache.getOrSet(`user:${p.user}`, 60_000, async () => {
            const r = await http.get<{ method: string; url: string }>('/echo', {
              query: { user: p.user },
              signal: ctx.signal,
            });
            return r.body.url;
          });
        },
      },
    });
    const items = await c.enqueueWorkItems(
      Array.from({ length: 40 }, (_, i) => ({ type: 'greet', payload: { user: i % 5 } })),
    );
    await worker.start();
    await waitFor(async () => (await c.getCounts()).completed === 40, '40 completions');
    expect(made.cache).toHaveLength(1);
    expect(made.http).toHaveLength(1);
    expect(server.hits('/echo')).toBe(5); // one load per user: the cache and its single flight held
    expect((await c.getWorkItem(items[7]!.id)).output).toBe('/echo?user=2');
    await c.close();
    await expect(made.cache[0]!.get('user:2')).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(made.http[0]!.get('/json')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a cancelled item aborts the request its handler passed ctx.signal to', async () => {
    const c = await open({ resources: { http: () => createHttpClient({ baseUrl: server.url }) } });
    const worker = c.worker({
      handlers: {
        slow: async (_p, ctx) =>
          (await (await ctx.resources.get<HttpClient>('http')).get('/slow/5000', { signal: ctx.signal }))
            .body,
      },
    });
    const item = await c.enqueueWorkItem({ type: 'slow' });
    await worker.start();
    await waitFor(() => server.hits('/slow/5000') === 1, 'the request to arrive');
    await c.cancelWorkItem(item.id, null, { reason: 'not needed' });
    await waitFor(() => server.abandoned.length === 1, 'the request to be aborted');
    expect((await c.getWorkItem(item.id)).status).toBe('cancelled');
  });

  it.skipIf(!redis || !postgres)('closes a Redis connection and a pg.Pool on cv.close()', async () => {
    const prefix = randomPrefix();
    const made: { cache?: RedisCache; db?: pg.Pool } = {};
    const c = await open({
      resources: {
        cache: () => (made.cache = createRedisCache({ url: REDIS_URL, keyPrefix: prefix })),
        db: () => (made.db = createPostgresPool({ url: PG_URL, max: 2 })),
      },
    });
    const worker = c.worker({
      concurrency: 4,
      handlers: {
        double: async (p: { n: number }, ctx) => {
          const cache = await ctx.resources.get<Cache>('cache');
          const db = await ctx.resources.get<pg.Pool>('db');
          return cache.getOrSet(`n:${p.n}`, 10_000, async () => {
            const { rows } = await db.query<{ d: number }>('SELECT $1::int * 2 AS d', [p.n]);
            return rows[0]!.d;
          });
        },
      },
    });
    const items = await c.enqueueWorkItems(
      Array.from({ length: 10 }, (_, n) => ({ type: 'double', payload: { n } })),
    );
    await worker.start();
    await waitFor(async () => (await c.getCounts()).completed === 10, '10 completions');
    expect((await c.getWorkItem(items[4]!.id)).output).toBe(8);
    expect(made.cache!.client.status).toBe('ready');
    await c.close();
    expect(made.cache!.client.status).toBe('end');
    expect(made.db!.ended).toBe(true);
    const raw = testRedis();
    expect(await raw.get(`${prefix}n:4`)).toBe('8');
    await raw.del(...(await raw.keys(`${prefix}*`)));
    await raw.quit();
  });
});
