// Copied from the peer benchmark: /work/shared/bench-peers/lib/protocol.mjs (bench/peers in
// the peer suite). The phases, timing, percentiles and output format are UNCHANGED, so the
// figures Conveyor produces compare directly with the peers'. Only two things differ:
//   - pkgVersion() also answers for this repo's own package (see below);
//   - the code is formatted with this repo's prettier config.
// If the peer protocol changes, copy it again rather than editing the logic here.
//
// Shared benchmark protocol for all peers. Each peer script only supplies an
// adapter; the phases, timing, percentiles and output format live here so every
// system is measured identically. To add a new system (e.g. our own engine),
// write one more adapter script that calls runProtocol().
//
// Adapter interface (all async unless noted):
//   system: string, version: string, variant: string, config: object (reported)
//   setup()                      once, before anything else
//   reset()                      wipe ALL backend state (called with no worker running)
//   add(payload)                 enqueue one job (awaited one at a time)
//   addBulk(payloads[])          enqueue many jobs with the library's bulk API
//   startWorker(C, handler)      start a worker with concurrency C; call handler(payload)
//                                synchronously at the START of each job; resolve when running.
//                                Returns { stop(): Promise<void> }
//   pending()                    number of jobs not yet completed (queued + running)
//   close()                      release connections
//
// Env knobs (defaults in brackets):
//   N [20000]  jobs for bulk-enqueue + drain      C [20]   worker concurrency
//   NS [2000]  jobs for one-by-one enqueue        BULK [1000] jobs per bulk call
//   LAT_N [1000] jobs in latency phase            LAT_RATE [200] target enqueue rate (jobs/s)
//   DRAIN_MAX_S [30]  drain window cap; if not all N finish, rate over completed jobs is reported
//   LAT_WAIT_S [20]   max wait after the last latency enqueue for stragglers
//   TIMEOUT_S [120]   hard process timeout (prints partial JSON with "error", exits 3)
//   PHASES [single,bulk,drain,latency]  comma list, for debugging
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';

const num = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? Number(process.env[k]) : d);
export const P = {
  N: num('N', 20000),
  C: num('C', 20),
  NS: num('NS', 2000),
  BULK: num('BULK', 1000),
  LAT_N: num('LAT_N', 1000),
  LAT_RATE: num('LAT_RATE', 200),
  DRAIN_MAX_S: num('DRAIN_MAX_S', 30),
  LAT_WAIT_S: num('LAT_WAIT_S', 20),
  TIMEOUT_S: num('TIMEOUT_S', 120),
  PHASES: (process.env.PHASES || 'single,bulk,drain,latency').split(','),
};

export const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const r1 = (x) => (x == null || !Number.isFinite(x) ? null : Math.round(x * 10) / 10);
const r0 = (x) => (x == null || !Number.isFinite(x) ? null : Math.round(x));

// Adapted for Conveyor: the peers read node_modules/<name>/package.json; there is no
// node_modules/conveyor here, so the repo's own package.json answers for 'conveyor'.
export function pkgVersion(name) {
  const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  if (own.name === name) return own.version;
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')).version;
}

// nearest-rank percentile over an array where missing samples are +Infinity
function pct(sorted, p) {
  if (!sorted.length) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

async function bounded(promise, ms, what) {
  let t;
  const to = new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error(`${what} timed out after ${ms}ms`)), ms);
  });
  try {
    return await Promise.race([promise, to]);
  } finally {
    clearTimeout(t);
  }
}

async function waitUntil(cond, maxMs, stepMs = 5) {
  const end = now() + maxMs;
  while (!(await cond())) {
    if (now() > end) return false;
    await sleep(stepMs);
  }
  return true;
}

export async function runProtocol(a) {
  const t00 = now();
  const res = {
    system: a.system,
    variant: a.variant || 'default',
    version: a.version,
    N: P.N,
    C: P.C,
    enqueue_single_per_s: null,
    enqueue_bulk_per_s: null,
    drain_per_s: null,
    latency_p50_ms: null,
    latency_p95_ms: null,
    latency_p99_ms: null,
  };
  const extra = {
    run_id: process.env.RUN_ID || null,
    rep: process.env.REP ? Number(process.env.REP) : null,
    ts: new Date().toISOString(),
    ns: P.NS,
    bulk_chunk: P.BULK,
    lat_n: P.LAT_N,
    lat_rate_target: P.LAT_RATE,
    node: process.version,
    config: a.config || {},
  };
  let phase = 'setup';
  let printed = false;
  const emit = (more = {}) => {
    if (printed) return;
    printed = true;
    extra.total_s = r1((now() - t00) / 1000);
    process.stdout.write(JSON.stringify({ ...res, ...extra, ...more }) + '\n');
  };
  const hard = setTimeout(() => {
    emit({ error: `hard timeout (${P.TIMEOUT_S}s) during phase "${phase}"` });
    process.exit(3);
  }, P.TIMEOUT_S * 1000);
  hard.unref();

  let exitCode = 0;
  let worker = null;
  try {
    await bounded(a.setup(), 20000, 'setup');

    // ---- (a1) one-by-one enqueue ------------------------------------------
    if (P.PHASES.includes('single')) {
      phase = 'enqueue_single';
      await a.reset();
      const t0 = now();
      for (let i = 0; i < P.NS; i++) await a.add({ i });
      res.enqueue_single_per_s = r0(P.NS / ((now() - t0) / 1000));
    }

    // ---- (a2) bulk enqueue: these N jobs are then drained in (b) ----------
    if (P.PHASES.includes('bulk') || P.PHASES.includes('drain')) {
      phase = 'enqueue_bulk';
      await a.reset();
      const t0 = now();
      for (let s = 0; s < P.N; s += P.BULK) {
        const chunk = [];
        for (let i = s; i < Math.min(P.N, s + P.BULK); i++) chunk.push({ i });
        await a.addBulk(chunk);
      }
      res.enqueue_bulk_per_s = r0(P.N / ((now() - t0) / 1000));
      const pend = await a.pending();
      if (pend !== P.N) extra.bulk_pending_mismatch = pend;
    }

    // ---- (b) drain ---------------------------------------------------------
    if (P.PHASES.includes('drain')) {
      phase = 'drain';
      let started = 0;
      let t0 = 0;
      t0 = now();
      worker = await a.startWorker(P.C, () => {
        started++;
      });
      extra.drain_worker_start_ms = r1(now() - t0);
      // all N handlers started ...
      await waitUntil(() => started >= P.N, P.DRAIN_MAX_S * 1000, 2);
      // ... and the backend agrees nothing is left (jobs acked/completed)
      const deadline = t0 + P.DRAIN_MAX_S * 1000;
      let done =
        started >= P.N &&
        (await waitUntil(async () => (await a.pending()) === 0, Math.max(0, deadline - now()), 5));
      const el = (now() - t0) / 1000;
      if (done) {
        res.drain_per_s = r0(P.N / el);
        extra.drain_s = r1(el);
      } else {
        const completed = Math.max(0, P.N - (await a.pending()));
        res.drain_per_s = r0(completed / el);
        extra.drain_s = r1(el);
        extra.drain_partial = `${completed}/${P.N} completed within ${P.DRAIN_MAX_S}s window`;
      }
      phase = 'drain_stop';
      await bounded(worker.stop(), 15000, 'worker stop').catch((e) => {
        extra.stop_warning = e.message;
      });
      worker = null;
    }

    // ---- (c) latency at a steady enqueue rate --------------------------------
    if (P.PHASES.includes('latency')) {
      phase = 'latency_setup';
      await a.reset();
      const t0s = new Float64Array(P.LAT_N).fill(NaN);
      const t1s = new Float64Array(P.LAT_N).fill(NaN);
      let warm = 0;
      let latStarted = 0;
      worker = await a.startWorker(P.C, (p) => {
        if (p && p.w) {
          warm++;
          return;
        }
        const i = p.i;
        if (Number.isNaN(t1s[i])) {
          t1s[i] = now();
          latStarted++;
        }
      });
      // warm-up: a few jobs through the running worker (connections, prepared statements, JIT)
      for (let k = 0; k < 20; k++) await a.add({ w: 1, k });
      if (!(await waitUntil(() => warm >= 20, 15000, 2)))
        extra.warmup_warning = `only ${warm}/20 warm-up jobs ran in 15s`;
      await sleep(100);

      phase = 'latency';
      const interval = 1000 / P.LAT_RATE;
      const start = now();
      for (let i = 0; i < P.LAT_N; i++) {
        const target = start + i * interval;
        const d = target - now();
        if (d >= 1) await sleep(d);
        t0s[i] = now();
        await a.add({ i });
      }
      const sendEl = (now() - start) / 1000;
      extra.lat_rate_actual = r0(P.LAT_N / sendEl);
      await waitUntil(() => latStarted >= P.LAT_N, P.LAT_WAIT_S * 1000, 2);
      const lats = [];
      for (let i = 0; i < P.LAT_N; i++) lats.push(Number.isNaN(t1s[i]) ? Infinity : t1s[i] - t0s[i]);
      lats.sort((x, y) => x - y);
      res.latency_p50_ms = r1(pct(lats, 50));
      res.latency_p95_ms = r1(pct(lats, 95));
      res.latency_p99_ms = r1(pct(lats, 99));
      extra.latency_max_ms = r1(lats[lats.length - 1]);
      extra.latency_mean_ms =
        latStarted === P.LAT_N ? r1(lats.reduce((s, x) => s + x, 0) / lats.length) : null;
      if (latStarted < P.LAT_N) {
        extra.latency_incomplete = `${latStarted}/${P.LAT_N} started within ${P.LAT_WAIT_S}s after last enqueue (null percentiles = not started)`;
      }
      phase = 'latency_stop';
      await bounded(worker.stop(), 15000, 'worker stop').catch((e) => {
        extra.stop_warning = e.message;
      });
      worker = null;
    }
  } catch (e) {
    exitCode = 1;
    extra.error = `${phase}: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`;
  }
  emit();
  phase = 'close';
  try {
    if (worker) await bounded(worker.stop(), 10000, 'worker stop');
    await bounded(a.close(), 10000, 'close');
  } catch (e) {
    process.stderr.write(`[${a.system}] close: ${e.message}\n`);
  }
  process.exit(exitCode);
}
