// What each SQL statement costs the embedded store: runs a shape (a drain of plain items, or
// a workflow) on SQLite, times every better-sqlite3 statement call during the measured run
// (after warm-up runs), and prints them by total time, per call and per item or step.
//
//   npm run build && node bench/sqlite-statements.mjs                 # SHAPE=drain
//   SHAPE=fan node bench/sqlite-statements.mjs                         # 1 → 1,000 → 1 workflow
//   SHAPE=chain node bench/sqlite-statements.mjs                       # 1,000-step chain
//
// Env: SHAPE [drain] | fan | chain, N [20000 items; 1000 steps for fan and chain], WARMUP [2],
//   C [20], BENCH_DIR [os.tmpdir()]. Timing wraps each call in two hrtime reads (~0.1 µs),
//   so the figures are a little high; the counts are exact.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';

const env = process.env;
const SHAPE = env.SHAPE || 'drain';
if (!['drain', 'fan', 'chain'].includes(SHAPE))
  throw new Error(`SHAPE must be drain, fan or chain (got ${SHAPE})`);
const N = Number(env.N || (SHAPE === 'drain' ? 20000 : 1000));
const WARMUP = Number(env.WARMUP ?? 2);
const C = Number(env.C || 20);

// Every statement the store prepares from here on is timed while `timing` is set.
const stats = new Map();
let timing = false;
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function (sql) {
  const stmt = prepare.call(this, sql);
  const name = sql.replace(/\s+/g, ' ').trim().slice(0, 100);
  for (const method of ['run', 'get', 'all']) {
    const inner = stmt[method];
    stmt[method] = function (...args) {
      if (!timing) return inner.apply(this, args);
      const t0 = process.hrtime.bigint();
      try {
        return inner.apply(this, args);
      } finally {
        const key = `${method} ${name}`;
        const s = stats.get(key) ?? { calls: 0, ns: 0n };
        s.calls++;
        s.ns += process.hrtime.bigint() - t0;
        stats.set(key, s);
      }
    };
  }
  return stmt;
};
const { createConveyor } = await import('../dist/index.js');

const logger = { debug() {}, info() {}, warn: console.error, error: console.error };

async function runOnce(measure) {
  const dir = mkdtempSync(join(env.BENCH_DIR || tmpdir(), 'conveyor-stmts-'));
  const cv = await createConveyor({ database: join(dir, 'bench.db'), logger });
  let units = N;
  let started = 0;
  let allStarted;
  const everyStart = new Promise((r) => (allStarted = r));
  const w = cv.worker({
    concurrency: C,
    handlers: {
      noop: (p) => p,
      bench: () => {
        if (++started === N) allStarted();
      },
    },
  });
  let def = null;
  if (SHAPE === 'drain') {
    for (let s = 0; s < N; s += 1000)
      await cv.enqueueWorkItems(
        Array.from({ length: Math.min(1000, N - s) }, (_, i) => ({ type: 'bench', payload: { i: s + i } })),
      );
  } else {
    let b = cv.workflow(SHAPE).step('s0', 'noop', { input: 0 });
    for (let i = 1; i <= N; i++)
      b = b.step(`s${i}`, 'noop', { deps: [SHAPE === 'fan' ? 's0' : `s${i - 1}`], input: i });
    if (SHAPE === 'fan')
      b = b.step('gather', 'noop', { deps: Array.from({ length: N }, (_, i) => `s${i + 1}`), input: 0 });
    def = b.build();
    units = def.steps.length;
    await w.start();
  }
  timing = measure;
  const t0 = performance.now();
  if (def) {
    const { id } = await cv.startWorkflow(def);
    const result = await cv.waitForWorkflow(id);
    if (result.status !== 'completed') throw new Error(`${SHAPE}: ${result.status}`);
  } else {
    await w.start();
    await everyStart;
    while ((await cv.getCounts()).completed < N) await new Promise((r) => setTimeout(r, 2));
  }
  const seconds = (performance.now() - t0) / 1000;
  timing = false;
  await w.stop();
  await cv.close();
  rmSync(dir, { recursive: true, force: true });
  return { units, seconds };
}

for (let i = 0; i < WARMUP; i++) await runOnce(false);
const { units, seconds } = await runOnce(true);
const rows = [...stats].sort((a, b) => Number(b[1].ns - a[1].ns));
const totalUs = rows.reduce((t, [, s]) => t + Number(s.ns), 0) / 1000;
const unit = SHAPE === 'drain' ? 'item' : 'step';
console.log(
  `${SHAPE}: ${units} ${unit}s in ${seconds.toFixed(3)} s (${Math.round(units / seconds)}/s, ` +
    `${((seconds * 1e6) / units).toFixed(0)} µs per ${unit}); SQL ${(totalUs / units).toFixed(1)} µs per ${unit}`,
);
console.log(`${'calls'.padStart(7)} ${'µs/call'.padStart(8)} ${`µs/${unit}`.padStart(9)}  statement`);
for (const [key, s] of rows.slice(0, 25)) {
  const us = Number(s.ns) / 1000;
  console.log(
    `${String(s.calls).padStart(7)} ${(us / s.calls).toFixed(1).padStart(8)} ${(us / units).toFixed(1).padStart(9)}  ${key}`,
  );
}
