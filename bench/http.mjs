// HTTP benchmark (issue 5), with the load generated from another process than the server's:
//   - create rate: autocannon POSTs /api/tasks (a type no worker takes, so only creation is
//     measured) for DURATION seconds over 1 connection (one at a time, as the peers'
//     one-by-one enqueue) and over CONNECTIONS connections → requests/s, latency
//   - the same number of tasks enqueued through the library in one process, as the ratio's
//     baseline: what the HTTP layer costs on top of the engine
//   - create → webhook: tasks of type noop with a webhook_url to a receiver in this process;
//     from sending the POST to the signed delivery arriving (p50/p99), one at a time
//     (LATENCY_N) and under load (LOAD_N tasks, CONNECTIONS at once)
//
//   npm run build && node bench/http.mjs                  # sqlite and postgres
//   STORES=sqlite DURATION=5 node bench/http.mjs
//
// Env: STORES [sqlite,postgres], DURATION [10], CONNECTIONS [16], LATENCY_N [200],
//   LOAD_N [2000], CONVEYOR_BENCH_PG_URL [postgres://postgres@127.0.0.1:5432/test].
// One JSON line per store on stdout, appended to bench/results/http.jsonl.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createConveyor } from '../dist/index.js';
import { pgQuery, runId } from './bench-utils.mjs';

const env = process.env;
const STORES = (env.STORES || 'sqlite,postgres').split(',');
const DURATION = Number(env.DURATION || 10);
const CONNECTIONS = Number(env.CONNECTIONS || 16);
const LATENCY_N = Number(env.LATENCY_N || 200);
const LOAD_N = Number(env.LOAD_N || 2000);
const PG_URL = env.CONVEYOR_BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const RUN_ID = runId(env);
const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results', 'http.jsonl');
const log = (m) => process.stderr.write(`${m}\n`);

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function startServerProcess(store, where) {
  const child = spawn(process.execPath, [join(HERE, 'http-server.mjs')], {
    env: { ...env, BENCH_STORE: store, ...where },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\S+)/.exec(out);
      if (m)
        resolve({
          url: m[1],
          stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))),
        });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** A webhook receiver: resolves each task id's waiter when its delivery arrives. */
function startReceiver() {
  const waiting = new Map();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      res.writeHead(204).end();
      const id = JSON.parse(body).data?.id;
      waiting.get(id)?.(performance.now());
      waiting.delete(id);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/hook`,
        arrival: (id) => new Promise((r) => waiting.set(id, r)),
        close: () => new Promise((r) => server.close(r)),
      }),
    ),
  );
}

async function createRate(url, connections) {
  const result = await autocannon({
    url: `${url}/api/tasks`,
    method: 'POST',
    connections,
    duration: DURATION,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'bench-untaken', payload: { n: 1 } }),
  });
  return {
    requestsPerSec: round(result.requests.average, 0),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  };
}

/** `n` tasks from `concurrency` senders; each latency is POST sent → webhook arrived. */
async function webhookLatency(url, receiver, n, concurrency) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  const sender = async () => {
    while (next < n) {
      next++;
      const t0 = performance.now();
      const res = await fetch(`${url}/api/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'noop', payload: {}, webhook_url: receiver.url }),
      });
      const { id } = await res.json();
      const arrived = await receiver.arrival(id);
      latencies.push(arrived - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    n,
    concurrency,
    p50Ms: round(pct(latencies, 50)),
    p99Ms: round(pct(latencies, 99)),
    perSec: round(n / seconds, 0),
  };
}

async function libraryRate(store, where, n) {
  const cv = await createConveyor(
    store === 'postgres'
      ? { database: PG_URL, schema: `${where.BENCH_SCHEMA}_lib` }
      : { database: join(where.dir, 'lib.db') },
  );
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next++ < n) await cv.enqueueWorkItem({ type: 'bench-untaken', payload: { n: 1 } });
    }),
  );
  const perSec = n / ((performance.now() - t0) / 1000);
  await cv.close();
  if (store === 'postgres') await pgQuery(PG_URL, `DROP SCHEMA IF EXISTS ${where.BENCH_SCHEMA}_lib CASCADE`);
  return round(perSec, 0);
}

mkdirSync(dirname(RESULTS), { recursive: true });
for (const store of STORES) {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-http-bench-'));
  const where =
    store === 'postgres'
      ? { BENCH_PG_URL: PG_URL, BENCH_SCHEMA: `bench_http_${process.pid}`, dir }
      : { BENCH_DB: join(dir, 'api.db'), dir };
  if (store === 'postgres') await pgQuery(PG_URL, `DROP SCHEMA IF EXISTS ${where.BENCH_SCHEMA} CASCADE`);
  const server = await startServerProcess(store, where);
  const receiver = await startReceiver();
  try {
    // Latency first, on an empty store: the create phases leave tens of thousands of queued
    // tasks of a type no worker takes, and claims walk past them (see docs/benchmarks.md).
    log(`${store}: create → webhook, one at a time…`);
    const serial = await webhookLatency(server.url, receiver, LATENCY_N, 1);
    log(`${store}: create → webhook under load…`);
    const loaded = await webhookLatency(server.url, receiver, LOAD_N, CONNECTIONS);
    log(`${store}: create rate, one request at a time (${DURATION}s)…`);
    const createSerial = await createRate(server.url, 1);
    log(`${store}: create rate (${DURATION}s, ${CONNECTIONS} connections)…`);
    const create = await createRate(server.url, CONNECTIONS);
    log(`${store}: library enqueue baseline…`);
    const library = await libraryRate(store, where, create.total);
    log(`${store}: create → webhook again, behind the queued tasks…`);
    const behind = await webhookLatency(server.url, receiver, LATENCY_N, 1);
    const line = {
      run: RUN_ID,
      store,
      node: process.version,
      createSerial,
      create,
      libraryEnqueuePerSec: library,
      httpToLibraryRatio: round(create.requestsPerSec / library, 2),
      webhookSerial: serial,
      webhookLoaded: loaded,
      webhookSerialBehindQueue: behind,
      queuedUntaken: createSerial.total + create.total,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    appendFileSync(RESULTS, `${JSON.stringify(line)}\n`);
  } finally {
    await receiver.close();
    await server.stop();
    if (store === 'postgres') await pgQuery(PG_URL, `DROP SCHEMA IF EXISTS ${where.BENCH_SCHEMA} CASCADE`);
    rmSync(dir, { recursive: true, force: true });
  }
}
