// How claim cost grows with queue depth: for each depth D, a fresh store is filled with D
// queued items (bulk enqueue, receipts and events written as always), then
//   - claim_ms: 500 claims of one item each (the claim transaction alone: pick the next
//     item in priority/run-at/FIFO order, lock it, write its `started` receipt and event),
//     timed one by one; p50 / p95 reported;
//   - drain_per_s: a worker (concurrency C) runs the next DRAIN items (no-op handler).
// A claim that walks the claim index in order costs the same at every depth; one that
// sorts or scans the queued rows grows with D.
//
//   npm run build && node bench/claim-depth.mjs                    # sqlite and postgres
//   STORES=postgres DEPTHS=1000,10000,100000,1000000 node bench/claim-depth.mjs
//
// Env: STORES [sqlite,postgres], DEPTHS [1000,10000,100000,1000000], CLAIMS [500],
//   DRAIN [5000], C [20], CONVEYOR_BENCH_PG_URL [postgres://postgres@127.0.0.1:5432/test],
//   BENCH_DIR [os.tmpdir()]. One JSON line per (store, depth) on stdout, appended to
//   bench/results/claim-depth.jsonl; progress on stderr.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createConveyor } from '../dist/index.js';
import { pgQuery, runId } from './bench-utils.mjs';

const env = process.env;
const STORES = (env.STORES || 'sqlite,postgres').split(',');
const DEPTHS = (env.DEPTHS || '1000,10000,100000,1000000').split(',').map(Number);
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

async function measure(store, depth) {
  const { cv, cleanup } = await open(store);
  try {
    const total = depth + CLAIMS + DRAIN;
    const t0 = performance.now();
    for (let k = 0; k < total; k += 5000) {
      const n = Math.min(5000, total - k);
      await cv.enqueueWorkItems(
        Array.from({ length: n }, (_, i) => ({ type: 'bench', payload: { i: k + i } })),
      );
      if (k % 100000 === 0 && k > 0) log(`  ${store} ${depth}: ${k} enqueued`);
    }
    const fillS = (performance.now() - t0) / 1000;
    // The engine's claim, as the worker makes it; what it claims stays running.
    const engine = cv.engine;
    const request = {
      executorId: 'depth-bench',
      types: ['bench'],
      queues: null,
      capabilities: [],
      limit: 1,
      leaseMs: 600_000,
    };
    await cv.registerExecutor('depth-bench', { capabilities: [] });
    const times = [];
    for (let i = 0; i < CLAIMS; i++) {
      const s = performance.now();
      const got = await engine.claim(request);
      times.push(performance.now() - s);
      if (got.length !== 1) throw new Error(`claim ${i} returned ${got.length} items`);
    }
    let started = 0;
    let done;
    const finished = new Promise((r) => (done = r));
    const w = cv.worker({
      concurrency: C,
      handlers: { bench: () => void (++started === DRAIN && done()) },
    });
    const d0 = performance.now();
    await w.start();
    await finished;
    const drainS = (performance.now() - d0) / 1000;
    await w.stop();
    const row = {
      run_id: RUN_ID,
      store,
      depth,
      claims: CLAIMS,
      claim_p50_ms: r2(pct(times, 50)),
      claim_p95_ms: r2(pct(times, 95)),
      drain_items: DRAIN,
      drain_per_s: Math.round(DRAIN / drainS),
      fill_s: Math.round(fillS),
      C,
      node: process.version,
      ts: new Date().toISOString(),
    };
    console.log(JSON.stringify(row));
    appendFileSync(RESULTS, JSON.stringify(row) + '\n');
    return row;
  } finally {
    await cv.close();
    await cleanup();
  }
}

mkdirSync(dirname(RESULTS), { recursive: true });
log(
  `run_id=${RUN_ID} stores=${STORES.join(',')} depths=${DEPTHS.join(',')} claims=${CLAIMS} drain=${DRAIN} C=${C}`,
);
const rows = [];
for (const store of STORES) for (const depth of DEPTHS) rows.push(await measure(store, depth));
log('');
log('store     depth      claim p50 ms  claim p95 ms  drain/s  fill s');
for (const r of rows)
  log(
    `${r.store.padEnd(9)} ${String(r.depth).padEnd(10)} ${String(r.claim_p50_ms).padEnd(13)} ${String(r.claim_p95_ms).padEnd(13)} ${String(r.drain_per_s).padEnd(8)} ${r.fill_s}`,
  );
