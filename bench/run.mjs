// `npm run bench`: Conveyor's embedded SQLite store under the peer benchmark protocol.
//
//   npm run bench                       # conveyor only: durability normal + full, REPS x each
//   npm run bench -- --peers            # same, plus the peer suite (BullMQ, pg-boss,
//                                       # graphile-worker) in the same run, one combined table
//   PEERS=1 npm run bench               # same as --peers
//   npm run bench -- --store postgres   # Conveyor on PostgreSQL (CONVEYOR_BENCH_PG_URL, default
//                                       # postgres://postgres@127.0.0.1:5432/test); --store all
//                                       # runs both stores; with --peers, ratios per store
//   node bench/run.mjs --table [RUN_ID|all]   # re-print the table of a run (default: latest)
//
// Env: REPS [2], RUN_ID [UTC timestamp], OUTER_TIMEOUT [150 s per process],
//   CONVEYOR_DURABILITY [unset = run both 'normal' and 'full'; set = only that one],
//   the protocol knobs N, C, NS, BULK, LAT_N, LAT_RATE, DRAIN_MAX_S, LAT_WAIT_S, TIMEOUT_S, PHASES
//   (passed through to every process, the peers' included),
//   PEERS_SRC [/work/shared/bench-peers], PEERS_DIR [/tmp/conveyor-bench-peers] (scratch copy),
//   PEERS_NODE_MODULES [/tmp/peers/node_modules] (reused via a symlink if the copy has none;
//   otherwise the peers' run-all.sh installs them), ONLY (peer filter, see run-all.sh),
//   PEERS_TIMEOUT [one pass of the peer suite, s; default 8 configs x 160 s + 300].
// With --peers each rep runs Conveyor, then one pass of all peers (interleaved, like run-all.sh
// interleaves its own configs), so load from other processes affects both sides alike.
//
// Results: one JSON line per process appended to bench/results/results.jsonl (git-ignored);
// the peers' lines are copied into the same file, so one table covers the whole run.
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runId, vacuumCatalogsIfNeeded } from './bench-utils.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results', 'results.jsonl');
const args = process.argv.slice(2);
const env = process.env;

const REPS = Number(env.REPS || 2);
const RUN_ID = runId(env);
const OUTER_TIMEOUT = Number(env.OUTER_TIMEOUT || 150);
const WITH_PEERS = args.includes('--peers') || (!!env.PEERS && env.PEERS !== '0');
const PEERS_SRC = env.PEERS_SRC || '/work/shared/bench-peers';
const PEERS_DIR = env.PEERS_DIR || '/tmp/conveyor-bench-peers';
const PEERS_NODE_MODULES = env.PEERS_NODE_MODULES || '/tmp/peers/node_modules';
const storeArg = args.includes('--store') ? args[args.indexOf('--store') + 1] : 'sqlite';
if (!['sqlite', 'postgres', 'all'].includes(storeArg)) {
  process.stderr.write(`--store must be sqlite, postgres or all (got ${storeArg})\n`);
  process.exit(2);
}
const DURABILITIES = env.CONVEYOR_DURABILITY ? [env.CONVEYOR_DURABILITY] : ['normal', 'full'];
// One Conveyor process per entry and rep: SQLite in each durability, PostgreSQL once.
const CONVEYOR_RUNS = [
  ...(storeArg !== 'postgres' ? DURABILITIES.map((d) => ({ store: 'sqlite', durability: d })) : []),
  ...(storeArg !== 'sqlite' ? [{ store: 'postgres', durability: 'normal' }] : []),
];

const log = (m) => process.stderr.write(`${m}\n`);

// Children run in their own process group (so a timeout can kill a whole tree); pass Ctrl-C on.
const children = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const pid of children) killGroup(pid, 'SIGTERM');
    process.exit(130);
  });
}
function killGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {
    /* already gone */
  }
}

// Runs a command; stderr is shown with a prefix; resolves { code, stdout } (code null = killed).
function run(cmd, argv, { timeoutS, prefix, extraEnv = {}, cwd = HERE }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, {
      cwd,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group, so a timeout kills the whole tree
    });
    let out = '';
    let killed = false;
    child.stdout.on('data', (d) => (out += d));
    let rest = '';
    child.stderr.on('data', (d) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop();
      for (const l of lines) log(`    [${prefix}] ${l}`);
    });
    children.add(child.pid);
    const kill = (sig) => killGroup(child.pid, sig);
    const t = setTimeout(() => {
      killed = true;
      log(`    [${prefix}] timed out after ${timeoutS}s, killing`);
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 5000).unref();
    }, timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(t);
      children.delete(child.pid);
      if (rest) log(`    [${prefix}] ${rest}`);
      resolve({ code: killed ? null : code, stdout: out });
    });
  });
}

async function runConveyor(rep, { store, durability }) {
  const name = store === 'postgres' ? 'conveyor-postgres' : `conveyor-${durability}`;
  log(`[rep ${rep}] ${name} ...`);
  const { code, stdout } = await run(process.execPath, [join(HERE, 'conveyor.mjs')], {
    timeoutS: OUTER_TIMEOUT,
    prefix: name,
    extraEnv: { RUN_ID, REP: String(rep), CONVEYOR_DURABILITY: durability, CONVEYOR_STORE: store },
  });
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  appendFileSync(
    RESULTS,
    (line ??
      JSON.stringify({
        system: 'conveyor',
        variant: name,
        run_id: RUN_ID,
        rep,
        error: `no output (exit ${code ?? 'timeout'})`,
      })) + '\n',
  );
  if (code !== 0) log(`    [${name}] exit code ${code ?? 'timeout'}`);
}

// Fresh scratch copy of the peer suite (its sources are read-only and it writes next to itself).
function preparePeers() {
  mkdirSync(PEERS_DIR, { recursive: true });
  chmodSync(PEERS_DIR, 0o755);
  for (const e of readdirSync(PEERS_SRC)) {
    if (e === 'node_modules' || e.startsWith('results')) continue;
    rmSync(join(PEERS_DIR, e), { recursive: true, force: true });
    cpSync(join(PEERS_SRC, e), join(PEERS_DIR, e), { recursive: true });
  }
  const nm = join(PEERS_DIR, 'node_modules');
  if (!existsSync(nm) && existsSync(PEERS_NODE_MODULES)) symlinkSync(PEERS_NODE_MODULES, nm, 'dir');
}

// One pass of the peer suite (run-all.sh with REPS=1), so that with --peers every rep runs
// Conveyor and then all peers: load from other processes hits both alike. run-all.sh writes
// to a scratch file; its lines get this rep's number and are appended to results.jsonl.
async function runPeers(rep) {
  log(`[rep ${rep}] peer suite in ${PEERS_DIR} (run-all.sh) ...`);
  const scratch = join(PEERS_DIR, `results-${RUN_ID}-rep${rep}.jsonl`);
  rmSync(scratch, { force: true });
  const { code } = await run('bash', ['run-all.sh'], {
    cwd: PEERS_DIR,
    timeoutS: Number(env.PEERS_TIMEOUT || 8 * 160 + 300),
    prefix: 'peers',
    // stdout is only run-all.sh's own table (no ratios); the combined table below replaces it
    extraEnv: { RUN_ID, REPS: '1', RESULTS: scratch },
  });
  if (code !== 0) log(`    [peers] run-all.sh exit code ${code ?? 'timeout'}`);
  if (!existsSync(scratch)) return;
  for (const l of readFileSync(scratch, 'utf8').split('\n').filter(Boolean)) {
    let r;
    try {
      r = JSON.parse(l);
    } catch {
      continue;
    }
    appendFileSync(RESULTS, JSON.stringify({ ...r, rep }) + '\n');
  }
  rmSync(scratch, { force: true });
}

// ---- table ---------------------------------------------------------------------------------
// Medians as in the peers' table.mjs: throughput over reps that produced a number; a missing
// latency percentile (jobs never started) counts as +Infinity.
const median = (xs, missingIsInf = false) => {
  const v = xs
    .map((x) => (typeof x === 'number' ? x : missingIsInf ? Infinity : NaN))
    .filter((x) => !Number.isNaN(x))
    .sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  const r = v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  return Number.isFinite(r) ? r : null;
};
const fmt = (x, d = 0) => (x == null ? '-' : x >= 100 ? String(Math.round(x)) : x.toFixed(d));
const ratio = (a, b) => (a == null || b == null || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);

function printTable(wanted) {
  const rows = readFileSync(RESULTS, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return null;
      }
    })
    .filter(Boolean);
  const id = wanted || rows.filter((r) => r.run_id).at(-1)?.run_id;
  const sel = id === 'all' ? rows : rows.filter((r) => r.run_id === id);
  const groups = new Map();
  for (const r of sel) {
    const k = `${r.system}\t${r.variant}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  const stats = [...groups.values()].map((rs) => {
    const notes = new Set();
    for (const r of rs) {
      if (r.drain_partial) notes.add(`drain capped: ${r.drain_partial}`);
      if (r.latency_incomplete) notes.add(`latency: ${r.latency_incomplete.split(' (')[0]}`);
      if (r.bulk_pending_mismatch !== undefined) notes.add(`pending after bulk: ${r.bulk_pending_mismatch}`);
      if (r.error) notes.add(`ERROR: ${String(r.error).slice(0, 120)}`);
    }
    return {
      system: rs[0].system,
      variant: rs[0].variant,
      version: rs[0].version ?? '-',
      reps: rs.length,
      single: median(rs.map((r) => r.enqueue_single_per_s)),
      bulk: median(rs.map((r) => r.enqueue_bulk_per_s)),
      drain: median(rs.map((r) => r.drain_per_s)),
      p50: median(
        rs.map((r) => r.latency_p50_ms),
        true,
      ),
      p95: median(
        rs.map((r) => r.latency_p95_ms),
        true,
      ),
      p99: median(
        rs.map((r) => r.latency_p99_ms),
        true,
      ),
      notes: [...notes].join('; '),
    };
  });
  // References for the ratio columns: Conveyor's default variant on each store that ran
  // (SQLite with durability normal: "cv"; PostgreSQL: "pg").
  const refs = [
    ['cv', stats.find((s) => s.system === 'conveyor' && s.variant === 'default (sqlite)')],
    ['pg', stats.find((s) => s.system === 'conveyor' && s.variant === 'default (postgres)')],
  ].filter(([, r]) => r);
  const peers = stats.filter((s) => s.system !== 'conveyor');
  const withRatios = peers.length > 0 ? refs : [];
  const cols = [
    ['system', 16],
    ['variant', 30],
    ['version', 8],
    ['reps', 4],
    ['enq_1by1/s', 10],
    ['enq_bulk/s', 10],
    ['drain/s', 8],
    ['p50_ms', 7],
    ['p95_ms', 7],
    ['p99_ms', 7],
    ...withRatios.flatMap(([tag]) => [
      [`${tag}/1by1`, 8],
      [`${tag}/bulk`, 8],
      [`${tag}/drain`, 8],
      [`p50 peer/${tag}`, 11],
    ]),
    ['notes', 0],
  ];
  const line = (vals) =>
    vals.map((v, i) => (cols[i][1] ? String(v).padEnd(cols[i][1]) : String(v))).join(' ');
  const first = sel.find((r) => r.N !== undefined);
  console.log(
    `run_id=${id}  N=${first?.N} C=${first?.C}  (medians over reps; '-' = not measurable, see notes)`,
  );
  const commits = [
    ...new Set(sel.filter((r) => r.system === 'conveyor').map((r) => r.config?.commit ?? '?')),
  ];
  if (commits.length) console.log(`conveyor commit: ${commits.join(', ')}`);
  for (const [tag, ref] of withRatios)
    console.log(
      `ratio columns ${tag}/x: Conveyor ${ref.variant} vs that row (Conveyor ÷ row for rates; p50 peer/${tag} = row ÷ Conveyor)`,
    );
  console.log(line(cols.map((c) => c[0])));
  for (const s of stats) {
    const isPeer = s.system !== 'conveyor';
    console.log(
      line([
        s.system,
        s.variant,
        s.version,
        s.reps,
        fmt(s.single),
        fmt(s.bulk),
        fmt(s.drain),
        fmt(s.p50, 1),
        fmt(s.p95, 1),
        fmt(s.p99, 1),
        ...withRatios.flatMap(([, ref]) =>
          isPeer
            ? [
                ratio(ref.single, s.single),
                ratio(ref.bulk, s.bulk),
                ratio(ref.drain, s.drain),
                ratio(s.p50, ref.p50),
              ]
            : ['', '', '', ''],
        ),
        s.notes,
      ]),
    );
  }
  const sqliteRef = refs.find(([tag]) => tag === 'cv')?.[1];
  const pgRef = refs.find(([tag]) => tag === 'pg')?.[1];
  // Issue 2's targets: embedded drain >= 2x the fastest peer's drain (same run), p50 < 2 ms.
  if (sqliteRef) {
    const ref = sqliteRef;
    const fastest = peers.filter((p) => p.drain != null).sort((a, b) => b.drain - a.drain)[0];
    const t = [];
    if (fastest) {
      const ok = ref.drain != null && ref.drain >= 2 * fastest.drain;
      t.push(
        `drain ${fmt(ref.drain)}/s vs 2 x fastest peer (${fastest.system} ${fastest.variant}: ${fmt(fastest.drain)}/s) = ${fmt(2 * fastest.drain)}/s -> ${ok ? 'MET' : 'NOT MET'} (${ratio(ref.drain, fastest.drain)})`,
      );
    } else {
      t.push('drain target needs the peers in the same run (--peers)');
    }
    t.push(
      `latency p50 ${fmt(ref.p50, 1)} ms < 2 ms -> ${ref.p50 != null && ref.p50 < 2 ? 'MET' : 'NOT MET'}`,
    );
    console.log(`targets (Conveyor ${ref.variant}, receipts on): ${t.join('; ')}`);
  }
  // Issue 3's targets: PostgreSQL drain >= 1.5x graphile-worker default and >= 2x pg-boss,
  // enqueue->start p50 no worse than graphile-worker default's.
  if (pgRef) {
    const ref = pgRef;
    const gw = peers.find((p) => p.system === 'graphile-worker' && p.variant === 'default');
    const bosses = peers.filter((p) => p.system === 'pg-boss' && p.drain != null);
    const t = [];
    if (gw) {
      t.push(
        `drain ${fmt(ref.drain)}/s vs 1.5 x graphile-worker default (${fmt(gw.drain)}/s) -> ${ref.drain >= 1.5 * gw.drain ? 'MET' : 'NOT MET'} (${ratio(ref.drain, gw.drain)})`,
      );
      t.push(
        `p50 ${fmt(ref.p50, 1)} ms vs graphile-worker default ${fmt(gw.p50, 1)} ms -> ${ref.p50 != null && gw.p50 != null && ref.p50 <= gw.p50 ? 'MET' : 'NOT MET'}`,
      );
    }
    for (const b of bosses)
      t.push(
        `drain vs 2 x pg-boss ${b.variant} (${fmt(b.drain)}/s) -> ${ref.drain >= 2 * b.drain ? 'MET' : 'NOT MET'} (${ratio(ref.drain, b.drain)})`,
      );
    if (!t.length) t.push('targets need the peers in the same run (--peers)');
    console.log(`targets (Conveyor ${ref.variant}, receipts on): ${t.join('; ')}`);
  }
}

// ---- main ----------------------------------------------------------------------------------
mkdirSync(dirname(RESULTS), { recursive: true });
if (args.includes('--table')) {
  const i = args.indexOf('--table');
  printTable(args[i + 1]);
} else {
  if (!existsSync(join(HERE, '..', 'dist', 'index.js'))) {
    log('dist/index.js is missing: run `npm run build` first (npm run bench does).');
    process.exit(1);
  }
  log(
    `run_id=${RUN_ID} N=${env.N || 20000} C=${env.C || 20} REPS=${REPS} durability=${DURABILITIES.join(',')}` +
      ` store=${storeArg} peers=${WITH_PEERS ? 'yes' : 'no'} node=${process.version} cpus=${cpus().length} -> ${RESULTS}`,
  );
  if (WITH_PEERS) preparePeers();
  if (storeArg !== 'sqlite') {
    const url = env.CONVEYOR_BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
    log(`PostgreSQL: ${await vacuumCatalogsIfNeeded(url)}`);
  }
  for (let rep = 1; rep <= REPS; rep++) {
    for (const c of CONVEYOR_RUNS) {
      await runConveyor(rep, c);
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (WITH_PEERS) await runPeers(rep);
  }
  console.log('');
  printTable(RUN_ID);
}
