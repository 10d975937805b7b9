/**
 * A Conveyor worker in its own process, for the multi-process tests. It runs the compiled
 * engine (dist/, so `npm run build` first) on a shared SQLite file or PostgreSQL schema.
 *
 *   node test/helpers/worker-process.mjs '<json config>'
 *
 * Config: { db, id, concurrency, leaseMs, log, heartbeatIntervalMs?, reaperIntervalMs?,
 * shutdownTimeoutMs?, pollIntervalMs?, schema? (PostgreSQL), recordTable? (PostgreSQL: `job`
 * also inserts each execution into this table of the schema), skewMs? (this process's clock
 * runs this far ahead: Date.now is shifted before anything else runs) }.
 *
 * Handlers (each appends lines to the `log` file with appendFileSync, so a line written is
 * a line kept even if the process is SIGKILLed right after):
 * - `job`:   `exec <itemId> <attempt> <executorId> <leaseToken>`, waits `payload.ms` (default
 *            1), returns `{ by: executorId }`.
 * - `hang`:  `start ...` then never settles (ignores its abort signal too).
 * - `slow`:  `start ...`, then waits (timers, so heartbeats keep running) until the file
 *            `payload.goFile` exists, then `finish ... aborted=<signal.aborted>`, returns
 *            `{ by: executorId }`.
 * - `call`:  `exec ...`, returns its payload; `down`: `exec ...`, then fails (not retried).
 * - `stall`: like `slow`, but blocks the event loop while it waits (a stuck process: no
 *            heartbeat, no timer runs until it returns).
 *
 * Protocol on stdout: `ready` once the worker has started, `stopped` after a clean SIGTERM
 * shutdown (w.stop(), cv.close(), exit 0). stdin stays open; when it closes (the parent
 * died) the child exits. The engine's log lines, every level, go to
 * stderr as `[<id>] <level>: <message>`.
 */
import { appendFileSync, existsSync } from 'node:fs';

const config = JSON.parse(process.argv[2] ?? '{}');
if (config.skewMs) {
  // A machine whose clock is off: every Date.now() (and so the process clock) is shifted.
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + config.skewMs;
}
const { createConveyor, NonRetryableError } = await import('../../dist/index.js');
const { db, id, log } = config;
if (!db || !id || !log) {
  process.stderr.write('usage: worker-process.mjs \'{"db":…,"id":…,"log":…}\'\n');
  process.exit(2);
}

const print = (level) => (message, meta) =>
  process.stderr.write(`[${id}] ${level}: ${message}${meta ? ' ' + JSON.stringify(meta) : ''}\n`);
const logger = { debug: print('debug'), info: print('info'), warn: print('warn'), error: print('error') };

const line = (text) => appendFileSync(log, text + '\n');
const describe = (ctx) => `${ctx.item.id} ${ctx.attempt} ${ctx.executorId} ${ctx.leaseToken}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const blocker = new Int32Array(new SharedArrayBuffer(4));
const sleepSync = (ms) => Atomics.wait(blocker, 0, 0, ms);

let recorder;
if (config.recordTable) {
  const pg = (await import('pg')).default;
  recorder = new pg.Pool({ connectionString: config.db, max: 2, options: `-c search_path=${config.schema}` });
}

const handlers = {
  job: async (payload, ctx) => {
    line(`exec ${describe(ctx)}`);
    await recorder?.query(
      `INSERT INTO ${config.recordTable} (item_id, attempt, executor_id, lease_token) VALUES ($1, $2, $3, $4)`,
      [ctx.item.id, ctx.attempt, ctx.executorId, ctx.leaseToken],
    );
    // A little I/O-like wait, as real handlers have: with no-op handlers one process can
    // re-take SQLite's write lock back to back and starve the other (SQLite's busy handler
    // sleeps and retries; its locks are not fair). Correctness does not depend on this.
    await sleep(payload?.ms ?? 1);
    return { by: ctx.executorId };
  },
  hang: (_payload, ctx) => {
    line(`start ${describe(ctx)}`);
    return new Promise(() => {});
  },
  slow: async (payload, ctx) => {
    line(`start ${describe(ctx)}`);
    while (!existsSync(payload.goFile) && !stopping) await sleep(10);
    line(`finish ${describe(ctx)} aborted=${ctx.signal.aborted}`);
    return { by: ctx.executorId };
  },
  // Workflow steps: `call` logs an execution and returns its payload, `down` always fails.
  call: (payload, ctx) => {
    line(`exec ${describe(ctx)}`);
    return payload;
  },
  down: (_payload, ctx) => {
    line(`exec ${describe(ctx)}`);
    throw new NonRetryableError('service down');
  },
  stall: (payload, ctx) => {
    line(`start ${describe(ctx)}`);
    while (!existsSync(payload.goFile)) sleepSync(5);
    line(`finish ${describe(ctx)} aborted=${ctx.signal.aborted}`);
    return { by: ctx.executorId };
  },
};

let stopping = false;
// The parent holds our stdin open and never writes: if it closes, the test runner died
// without stopping us, so do not linger (a `hang` child would otherwise run forever).
process.stdin.on('end', () => {
  process.stderr.write(`[${id}] parent went away, exiting\n`);
  process.exit(3);
});
process.stdin.resume();

const cv = await createConveyor({
  database: db,
  ...(config.schema ? { schema: config.schema, poolSize: 4 } : {}),
  leaseMs: config.leaseMs ?? 1000,
  logger,
  changePollMs: 10,
});
const w = cv.worker({
  id,
  concurrency: config.concurrency ?? 1,
  leaseMs: config.leaseMs ?? 1000,
  handlers,
  ...(config.heartbeatIntervalMs ? { heartbeatIntervalMs: config.heartbeatIntervalMs } : {}),
  ...(config.reaperIntervalMs ? { reaperIntervalMs: config.reaperIntervalMs } : {}),
  ...(config.pollIntervalMs ? { pollIntervalMs: config.pollIntervalMs } : {}),
  shutdownTimeoutMs: config.shutdownTimeoutMs ?? 2000,
});

process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    try {
      await w.stop();
      await cv.close();
      await recorder?.end();
      process.stdout.write('stopped\n');
      process.stdin.destroy();
      process.exitCode = 0;
    } catch (e) {
      process.stderr.write(`[${id}] shutdown failed: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    }
  })();
});

await w.start();
process.stdout.write('ready\n');
