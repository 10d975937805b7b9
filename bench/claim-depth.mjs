// How claim cost grows with queue depth. Phase `depth`: for each depth D, a fresh store is
// filled with D queued items (bulk enqueue, receipts and events written as always), then
//   - claim_ms: 500 claims of one item each (the claim transaction alone: pick the next
//     item in priority/run-at/FIFO order, lock it, write its `started` receipt and event),
//     timed one by one; p50 / p95 reported;
//   - drain_per_s: a worker (concurrency C) runs the next DRAIN items (no-op handler).
// A claim that walks the claim index in order costs the same at every depth; one that
// sorts or scans the queued rows grows with D.
//
// Phase `behind`: the claim cost of a worker for type X behind N queued items of a type Y
// that nobody takes, enqueued first (so ahead of X's items in claim order). For each N, a
// fresh store gets N items of type Y, then CLAIMS + DRAIN of type X, then
//   - claim1_ms: CLAIMS claims of one item, types ['X'] (a worker with one handler);
//   - claim2_ms: CLAIMS more, types ['X', 'Z'] (two handlers; Z has no items);
//   - next_run_ms: the idle worker's "when is my next item due" read, types ['X'];
//   - drain_per_s: a worker for X (concurrency C) runs the DRAIN left.
// A claim that walks past Y's items costs O(N); one that reads X's items directly does not.
//
//   npm run build && node bench/claim-depth.mjs                    # both phases, sqlite and postgres
//   STORES=postgres DEPTHS=1000,10000,100000,1000000 PHASES=depth node bench/claim-depth.mjs
//   PHASES=behind BEHIND=0,10000,100000 node bench/claim-depth.mjs
//   CONVEYOR_DIST=scratch/dist-before PHASES=behind node bench/claim-depth.mjs   # another build
//
// Env: PHASES [depth,behind], STORES [sqlite,postgres], DEPTHS [1000,10000,100000,1000000],
//   BEHIND [0,10000,100000], CLAIMS [500], DRAIN [5000], C [20], CONVEYOR_DIST [dist: the
//   build to measure, relative to the working directory], CONVEYOR_BENCH_PG_URL
//   [postgres://postgres@127.0.0.1:5432/test], BENCH_DIR [os.tmpdir()]. One JSON line per
//   (phase, store, depth) on stdout, appended to bench/results/claim-depth.jsonl; progress
//   on stderr.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pgQuery, runId } from './bench-utils.mjs';

const env = process.env;
const DIST = env.CONVEYOR_DIST || fileURLToPath(new URL('../dist', import.meta.url));
const { createConveyor } = await import(pathToFileURL(join(resolve(DIST), 'index.js')).href);
const PHASES = (env.PHASES || 'depth,behind').split(',');
const STORES = (env.STORES || 'sqlite,postgres').split(',');
const DEPTHS = (env.DEPTHS || '1000,10000,100000,1000000').split(',').map(Number);
const BEHIND = (env.BEHIND || '0,10000,100000').split(',').map(Number);
const CLAIMS = Number(env.CLAIMS || 500);
const DRAIN = Number(env.DRAIN || 5000);
const C = Number(env.C || 20);
const PG_URL = env.CONVEYOR_BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const RUN_ID = runId(env);
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'claim-depth.jsonl');
const logger = {
  debug() {},
  info() {},
  warn: (m) => process.stderr.write(`warn: ${m}\n`),
  error: (m) => process.stderr.write(`error: ${m}\n`),
};
const log = (m) => process.stderr.write(`${m}\n`);

const dropSchema = (schema) => pgQuery(PG_URL, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);

async function open(store) {
  if (store === 'postgres') {
    const schema = `bench_depth_${process.pid}`;
    await dropSchema(schema);
    const cv = await createConveyor({ database: PG_URL, schema, logger });
    return { cv, cleanup: () => dropSchema(schema) };
  }
  const dir = mkdtempSync(join(env.BENCH_DIR || tmpdir(), 'conveyor-depth-'));
  const cv = await createConveyor({ database: join(dir, 'bench.db'), logger });
  return { cv, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const r2 = (x) => Math.round(x * 100) / 100;

/** Enqueues `total` items of `type` in batches of 5000. */
async function fill(cv, store, depth, type, total) {
  for (let k = 0; k < total; k += 5000) {
    const n = Math.min(5000, total - k);
    await cv.enqueueWorkItems(Array.from({ length: n }, (_, i) => ({ type, payload: { i: k + i } })));
    if (k % 100000 === 0 && k > 0) log(`  ${store} ${depth}: ${k} ${type} enqueued`);
  }
}

/** `count` claims of one item each with `request`, timed one by one (ms). */
async function timeClaims(cv, request, count) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const s = performance.now();
    const got = await cv.engine.claim(request);
    times.push(performance.now() - s);
    if (got.length !== 1) throw new Error(`claim ${i} returned ${got.length} items`);
  }
  return times;
}

/** Items per second of a worker (concurrency C) for `type` running the next `count` items. */
async function drainRate(cv, type, count) {
  let started = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const w = cv.worker({
    concurrency: C,
    handlers: { [type]: () => void (++started === count && done()) },
  });
  const d0 = performance.now();
  await w.start();
  await finished;
  const drainS = (performance.now() - d0) / 1000;
  await w.stop();
  return Math.round(count / drainS);
}

function record(row) {
  const full = { run_id: RUN_ID, ...row, C, dist: DIST, node: process.version, ts: new Date().toISOString() };
  console.log(JSON.stringify(full));
  appendFileSync(RESULTS, JSON.stringify(full) + '\n');
  return full;
}

async function measure(store, depth) {
  const { cv, cleanup } = await open(store);
  try {
    const t0 = performance.now();
    await fill(cv, store, depth, 'bench', depth + CLAIMS + DRAIN);
    const fillS = (performance.now() - t0) / 1000;
    // The engine's claim, as the worker makes it; what it claims stays running.
    const request = {
      executorId: 'depth-bench',
      types: ['bench'],
      queues: null,
      capabilities: [],
      limit: 1,
      leaseMs: 600_000,
    };
    await cv.registerExecutor('depth-bench', { capabilities: [] });
    const times = await timeClaims(cv, request, CLAIMS);
    const drain = await drainRate(cv, 'bench', DRAIN);
    return record({
      phase: 'depth',
      store,
      depth,
      claims: CLAIMS,
      claim_p50_ms: r2(pct(times, 50)),
      claim_p95_ms: r2(pct(times, 95)),
      drain_items: DRAIN,
      drain_per_s: drain,
      fill_s: Math.round(fillS),
    });
  } finally {
    await cv.close();
    await cleanup();
  }
}

async function measureBehind(store, untaken) {
  const { cv, cleanup } = await open(store);
  try {
    const t0 = performance.now();
    // Y first: same priority, earlier run time and seq, so all of it is ahead of X's items.
    await fill(cv, store, untaken, 'untaken', untaken);
    await fill(cv, store, untaken, 'bench', 2 * CLAIMS + DRAIN);
    const fillS = (performance.now() - t0) / 1000;
    const request = {
      executorId: 'behind-bench',
      types: ['bench'],
      queues: null,
      capabilities: [],
      limit: 1,
      leaseMs: 600_000,
    };
    await cv.registerExecutor('behind-bench', { capabilities: [] });
    const one = await timeClaims(cv, request, CLAIMS);
    const two = await timeClaims(cv, { ...request, types: ['bench', 'nothing'] }, CLAIMS);
    const next = [];
    for (let i = 0; i < 200; i++) {
      const s = performance.now();
      await cv.engine.store.nextRunAt({ types: ['bench'], queues: null, capabilities: [] });
      next.push(performance.now() - s);
    }
    const drain = await drainRate(cv, 'bench', DRAIN);
    return record({
      phase: 'behind',
      store,
      depth: untaken,
      claims: CLAIMS,
      claim1_p50_ms: r2(pct(one, 50)),
      claim1_p95_ms: r2(pct(one, 95)),
      claim2_p50_ms: r2(pct(two, 50)),
      claim2_p95_ms: r2(pct(two, 95)),
      next_run_p50_ms: r2(pct(next, 50)),
      drain_items: DRAIN,
      drain_per_s: drain,
      fill_s: Math.round(fillS),
    });
  } finally {
    await cv.close();
    await cleanup();
  }
}

mkdirSync(dirname(RESULTS), { recursive: true });
log(
  `run_id=${RUN_ID} dist=${DIST} phases=${PHASES.join(',')} stores=${STORES.join(',')} depths=${DEPTHS.join(',')} behind=${BEHIND.join(',')} claims=${CLAIMS} drain=${DRAIN} C=${C}`,
);
const rows = [];
const behind = [];
for (const store of STORES) {
  if (PHASES.includes('depth')) for (const depth of DEPTHS) rows.push(await measure(store, depth));
  if (PHASES.includes('behind')) for (const n of BEHIND) behind.push(await measureBehind(store, n));
}
const col = (v, w) => String(v).padEnd(w);
if (rows.length > 0) {
  log('');
  log('store     depth      claim p50 ms  claim p95 ms  drain/s  fill s');
  for (const r of rows)
    log(
      `${col(r.store, 9)} ${col(r.depth, 10)} ${col(r.claim_p50_ms, 13)} ${col(r.claim_p95_ms, 13)} ${col(r.drain_per_s, 8)} ${r.fill_s}`,
    );
}
if (behind.length > 0) {
  log('');
  log('a worker for type X behind N queued items of type Y (nobody takes Y)');
  log('store     N          1 type p50/p95 ms  2 types p50/p95 ms  nextRun p50 ms  drain/s  fill s');
  for (const r of behind)
    log(
      `${col(r.store, 9)} ${col(r.depth, 10)} ${col(`${r.claim1_p50_ms} / ${r.claim1_p95_ms}`, 18)} ${col(`${r.claim2_p50_ms} / ${r.claim2_p95_ms}`, 19)} ${col(r.next_run_p50_ms, 15)} ${col(r.drain_per_s, 8)} ${r.fill_s}`,
    );
}
