// Conveyor peer adapter, measured with the peers' protocol (./protocol.mjs, a verbatim copy
// of the peer suite's lib/protocol.mjs), on either store:
//
// - sqlite (default): one SQLite file in a fresh temp dir (WAL journal). reset() closes the
//   Conveyor, deletes the file (+ -wal, -shm) and opens a new one.
// - postgres (CONVEYOR_STORE=postgres): a fresh schema in CONVEYOR_BENCH_PG_URL; reset()
//   closes the Conveyor, drops the schema and opens a new one (migrations run again).
// Receipts (a SHA-256 hash chain per item) and the event log are always written; there is no
// switch to turn them off.
//
// Settings (env):
//   CONVEYOR_STORE [sqlite] | postgres
//   CONVEYOR_BENCH_PG_URL [postgres://postgres@127.0.0.1:5432/test]  (the peers' server)
//   CONVEYOR_POOL_SIZE [library default 10]  PostgreSQL connections for queries
//   CONVEYOR_DURABILITY [normal] | full   SQLite synchronous=NORMAL or FULL (fsync per commit)
//   CONVEYOR_LEASE_MS [30000 = library default]
//   CONVEYOR_CHANGE_POLL_MS [50 = library default]
//   BENCH_DIR [os.tmpdir()]  where the temp dir with bench.db is created
// See ./protocol.mjs for N, C, NS, BULK, LAT_N, LAT_RATE, DRAIN_MAX_S, LAT_WAIT_S, TIMEOUT_S, PHASES.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConveyor } from '../dist/index.js';
import { pgQuery } from './bench-utils.mjs';
import { runProtocol, pkgVersion } from './protocol.mjs';

const STORE = process.env.CONVEYOR_STORE || 'sqlite';
const PG_URL = process.env.CONVEYOR_BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const POOL_SIZE = process.env.CONVEYOR_POOL_SIZE ? Number(process.env.CONVEYOR_POOL_SIZE) : undefined;
if (STORE !== 'sqlite' && STORE !== 'postgres') throw new Error(`unknown CONVEYOR_STORE ${STORE}`);
const DURABILITY = process.env.CONVEYOR_DURABILITY || 'normal';
const LEASE_MS = Number(process.env.CONVEYOR_LEASE_MS || 30000);
const CHANGE_POLL_MS = Number(process.env.CONVEYOR_CHANGE_POLL_MS || 50);
if (DURABILITY !== 'normal' && DURABILITY !== 'full')
  throw new Error(`unknown CONVEYOR_DURABILITY ${DURABILITY}`);

// Warnings and errors still reach stderr (run.mjs shows them); debug/info are dropped so that
// logging never lands in the measured phases.
const logger = {
  debug() {},
  info() {},
  warn: (m, meta) => process.stderr.write(`[conveyor] warn: ${m}${meta ? ' ' + JSON.stringify(meta) : ''}\n`),
  error: (m, meta) =>
    process.stderr.write(`[conveyor] error: ${m}${meta ? ' ' + JSON.stringify(meta) : ''}\n`),
};

const require = createRequire(import.meta.url);
function sqliteVersion() {
  const Database = require('better-sqlite3');
  const db = new Database(':memory:');
  try {
    return db.prepare('select sqlite_version()').pluck().get();
  } finally {
    db.close();
  }
}

// Which code was measured: the git commit (+ "-dirty" when src/ has local changes) and when
// dist/ was built. CONVEYOR_COMMIT overrides (e.g. when benchmarking an exported snapshot).
function commit() {
  if (process.env.CONVEYOR_COMMIT) return process.env.CONVEYOR_COMMIT;
  try {
    const git = (...a) =>
      execFileSync('git', a, { cwd: new URL('..', import.meta.url), encoding: 'utf8' }).trim();
    return git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--', 'src') ? '-dirty' : '');
  } catch {
    return null;
  }
}
const distBuilt = statSync(new URL('../dist/index.js', import.meta.url)).mtime.toISOString();

let dir;
let file;
let cv;
const schema = `bench_${process.pid}`;

const open = () =>
  STORE === 'postgres'
    ? createConveyor({
        database: PG_URL,
        schema,
        poolSize: POOL_SIZE,
        logger,
        leaseMs: LEASE_MS,
        changePollMs: CHANGE_POLL_MS,
      })
    : createConveyor({
        database: file,
        logger,
        leaseMs: LEASE_MS,
        durability: DURABILITY,
        changePollMs: CHANGE_POLL_MS,
      });

async function removeDb() {
  if (STORE === 'postgres') await pgQuery(PG_URL, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  else for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
}

const storeConfig =
  STORE === 'postgres'
    ? {
        backend: 'postgres (pg pool, FOR UPDATE SKIP LOCKED, LISTEN/NOTIFY wake-ups)',
        pg: pkgVersion('pg'),
        postgres: (await pgQuery(PG_URL, 'SHOW server_version'))[0].server_version,
        poolSize: POOL_SIZE ?? 10,
        synchronous_commit: 'server default',
      }
    : {
        backend: 'sqlite (embedded, better-sqlite3, WAL)',
        durability: DURABILITY,
        synchronous: DURABILITY === 'full' ? 'FULL' : 'NORMAL',
        'better-sqlite3': pkgVersion('better-sqlite3'),
        sqlite: sqliteVersion(),
      };

await runProtocol({
  system: 'conveyor',
  version: pkgVersion('conveyor'),
  variant:
    process.env.VARIANT ||
    (STORE === 'postgres'
      ? 'default (postgres)'
      : DURABILITY === 'normal'
        ? 'default (sqlite)'
        : 'durability=full (sqlite)'),
  config: {
    ...storeConfig,
    receipts: 'on (SHA-256 hash chain per item; always on)',
    eventLog: 'on (always on)',
    leaseMs: LEASE_MS,
    changePollMs: CHANGE_POLL_MS,
    commit: commit(),
    distBuilt,
  },
  async setup() {
    dir = mkdtempSync(join(process.env.BENCH_DIR || tmpdir(), 'conveyor-bench-'));
    file = join(dir, 'bench.db');
    if (STORE === 'postgres') this.config.schema = schema;
    else this.config.dbFile = file;
    await removeDb();
    cv = await open();
  },
  async reset() {
    if (cv) await cv.close();
    cv = null;
    await removeDb();
    cv = await open();
  },
  async add(p) {
    await cv.enqueueWorkItem({ type: 'bench', payload: p });
  },
  async addBulk(ps) {
    await cv.enqueueWorkItems(ps.map((payload) => ({ type: 'bench', payload })));
  },
  async startWorker(C, handler) {
    const w = cv.worker({
      concurrency: C,
      handlers: {
        bench: async (payload) => {
          handler(payload);
        },
      },
    });
    await w.start();
    return { stop: () => w.stop() };
  },
  async pending() {
    const c = await cv.getCounts();
    return c.pending + c.queued + c.assigned + c.running;
  },
  async close() {
    try {
      if (cv) await cv.close();
    } finally {
      cv = null;
      if (STORE === 'postgres') await removeDb();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
