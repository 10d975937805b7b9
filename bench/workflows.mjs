// Workflow benchmark (issue 4): how fast the orchestrator runs steps, on both stores.
//   - fan-out/fan-in: 1 → 1,000 → 1 no-op steps (1,002 steps)
//   - chain: 1,000 no-op steps, each depending on the one before
//   - baseline: 1,000 plain work items drained by the same worker, to price the
//     orchestration: overhead per step = (workflow time − baseline time) / steps
// Each shape runs WARMUP times first, then REPS times, each on a fresh store, in one process;
// medians of the REPS are reported as the steady state (steps_per_s), and the very first run
// of each shape, with the JIT still cold, beside it (cold_steps_per_s). A workflow engine runs
// many workflows in one process, so the steady state is the figure the targets are read
// against; the cold one says what a short-lived process gets.
//
//   npm run build && node bench/workflows.mjs                # sqlite and postgres
//   STORES=sqlite REPS=5 node bench/workflows.mjs
//
// Env: STORES [sqlite,postgres], WARMUP [1], REPS [5], WIDTH [1000], LENGTH [1000], C [20],
//   CONVEYOR_BENCH_PG_URL [postgres://postgres@127.0.0.1:5432/test], BENCH_DIR [os.tmpdir()].
// One JSON line per (store, shape) on stdout, appended to bench/results/workflows.jsonl.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createConveyor } from '../dist/index.js';
import { pgQuery, runId, vacuumCatalogsIfNeeded } from './bench-utils.mjs';

const env = process.env;
const STORES = (env.STORES || 'sqlite,postgres').split(',');
const WARMUP = Number(env.WARMUP ?? 1);
const REPS = Number(env.REPS || 5);
const WIDTH = Number(env.WIDTH || 1000);
const LENGTH = Number(env.LENGTH || 1000);
const C = Number(env.C || 20);
const PG_URL = env.CONVEYOR_BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const RUN_ID = runId(env);
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'workflows.jsonl');
const log = (m) => process.stderr.write(`${m}\n`);
const logger = { debug() {}, info() {}, warn: (m) => log(`warn: ${m}`), error: (m) => log(`error: ${m}`) };

async function open(store) {
  if (store === 'postgres') {
    const schema = `bench_wf_${process.pid}`;
    const drop = () => pgQuery(PG_URL, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await drop();
    return { cv: await createConveyor({ database: PG_URL, schema, logger }), cleanup: drop };
  }
  const dir = mkdtempSync(join(env.BENCH_DIR || tmpdir(), 'conveyor-wf-'));
  const cv = await createConveyor({ database: join(dir, 'bench.db'), logger });
  return { cv, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

function fanOut(cv) {
  let b = cv.workflow('fan').step('root', 'noop', { input: 0 });
  for (let i = 0; i < WIDTH; i++) b = b.step(`s${i}`, 'noop', { deps: ['root'], input: i });
  const all = Array.from({ length: WIDTH }, (_, i) => `s${i}`);
  return b.step('gather', 'noop', { deps: all, input: 0 }).build();
}

function chain(cv) {
  let b = cv.workflow('chain').step('s0', 'noop', { input: 0 });
  for (let i = 1; i < LENGTH; i++) b = b.step(`s${i}`, 'noop', { deps: [`s${i - 1}`], input: i });
  return b.build();
}

/** Seconds to run `def` to completion on a fresh store with one worker (concurrency C). */
async function timeWorkflow(store, build) {
  const { cv, cleanup } = await open(store);
  try {
    const w = cv.worker({ concurrency: C, handlers: { noop: (p) => p } });
    await w.start();
    const def = build(cv);
    const t0 = performance.now();
    const { id } = await cv.startWorkflow(def);
    const result = await cv.waitForWorkflow(id);
    const s = (performance.now() - t0) / 1000;
    if (result.status !== 'completed') throw new Error(`${def.name}: ${result.status}`);
    await w.stop();
    return { s, steps: def.steps.length };
  } finally {
    await cv.close();
    await cleanup();
  }
}

/** Seconds to drain `n` plain items (enqueued first) with the same worker. */
async function timeBaseline(store, n) {
  const { cv, cleanup } = await open(store);
  try {
    await cv.enqueueWorkItems(Array.from({ length: n }, (_, i) => ({ type: 'noop', payload: i })));
    let done = 0;
    let finish;
    const finished = new Promise((r) => (finish = r));
    const w = cv.worker({
      concurrency: C,
      handlers: {
        noop: (p) => {
          if (++done === n) finish();
          return p;
        },
      },
    });
    const t0 = performance.now();
    await w.start();
    await finished;
    while ((await cv.getCounts()).completed < n) await new Promise((r) => setTimeout(r, 1));
    const s = (performance.now() - t0) / 1000;
    await w.stop();
    return s;
  } finally {
    await cv.close();
    await cleanup();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
mkdirSync(dirname(RESULTS), { recursive: true });
log(
  `run_id=${RUN_ID} stores=${STORES.join(',')} warmup=${WARMUP} reps=${REPS} width=${WIDTH} length=${LENGTH} C=${C}`,
);
if (STORES.includes('postgres')) log(`PostgreSQL: ${await vacuumCatalogsIfNeeded(PG_URL)}`);
const rows = [];
for (const store of STORES) {
  const shapes = { 'fan-out/fan-in': fanOut, chain };
  const base = [];
  const times = Object.fromEntries(Object.keys(shapes).map((k) => [k, []]));
  const cold = {};
  let steps = {};
  for (let rep = 0; rep < WARMUP + REPS; rep++) {
    const warming = rep < WARMUP;
    const b = await timeBaseline(store, 1000);
    if (!warming) base.push(b);
    for (const [name, build] of Object.entries(shapes)) {
      const r = await timeWorkflow(store, build);
      cold[name] ??= r.s;
      if (!warming) times[name].push(r.s);
      steps[name] = r.steps;
      log(`  ${store} ${warming ? 'warm-up' : `rep ${rep - WARMUP + 1}`} ${name}: ${r.s.toFixed(2)} s`);
    }
  }
  const basePerItemMs = (median(base) / 1000) * 1000;
  for (const name of Object.keys(shapes)) {
    const s = median(times[name]);
    const row = {
      run_id: RUN_ID,
      store,
      shape: name,
      steps: steps[name],
      reps: REPS,
      seconds: Math.round(s * 1000) / 1000,
      warmup: WARMUP,
      steps_per_s: Math.round(steps[name] / s),
      cold_steps_per_s: Math.round(steps[name] / cold[name]),
      ms_per_step: Math.round(((s * 1000) / steps[name]) * 1000) / 1000,
      baseline_items_per_s: Math.round(1000 / median(base)),
      overhead_ms_per_step: Math.round(((s * 1000) / steps[name] - basePerItemMs) * 1000) / 1000,
      C,
      node: process.version,
      ts: new Date().toISOString(),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    appendFileSync(RESULTS, JSON.stringify(row) + '\n');
  }
}
log('');
log('store     shape            steps  steps/s  cold steps/s  ms/step  plain items/s  overhead ms/step');
for (const r of rows)
  log(
    `${r.store.padEnd(9)} ${r.shape.padEnd(16)} ${String(r.steps).padEnd(6)} ${String(r.steps_per_s).padEnd(8)} ${String(r.cold_steps_per_s).padEnd(13)} ${String(r.ms_per_step).padEnd(8)} ${String(r.baseline_items_per_s).padEnd(14)} ${r.overhead_ms_per_step}`,
  );
