/**
 * @module cli/run-server
 * What `conveyor start`, `server` and `mcp` run (and the `conveyor-server` bin): the mode
 * (`--mode`, else CONVEYOR_MODE, else `all`) picks the API with in-process workers (`all`),
 * the API alone (`api`), workers alone (`worker`) or the MCP tools over stdio (`mcp`).
 * Loaded only by those commands, so that client commands do not pay for the server's
 * modules (Fastify, the stores' drivers, the MCP SDK) at every start.
 */
import { startServer } from '../api/http/server.js';
import { runMcpStdio } from '../api/mcp/stdio.js';
import { loadHandlers } from '../api/handlers-module.js';
import { modeOf, workersFromEnv, type ServeFlags } from './commands/serve-options.js';
import { cannotStart, markServing, runUntilSignal } from './lifecycle.js';
import { startWorker } from './run-worker.js';

/** The API with `workers` in-process workers; flags go in as the variables they override. */
async function serveApi(flags: ServeFlags, workers: number) {
  const env = { ...process.env };
  if (flags.host !== undefined) env.CONVEYOR_HOST = flags.host;
  if (flags.port !== undefined) env.CONVEYOR_PORT = String(flags.port);
  const handlers = await loadHandlers(flags.handlers ?? process.env.CONVEYOR_HANDLERS);
  return startServer({
    env,
    handlers,
    workers,
    ...(flags.database ? { database: flags.database } : {}),
    ...(flags.enableShell ? { shell: true } : {}),
    logger: process.env.CONVEYOR_LOG === 'debug' ? { level: 'debug' } : { level: 'warn' },
  });
}

/**
 * What `conveyor start` runs; also the `conveyor-server` bin (with no flags). `conveyor
 * server` passes `api`: its mode is fixed, and it runs no workers unless --workers says so
 * (CONVEYOR_WORKERS is start's default, not server's).
 */
export async function runStart(flags: ServeFlags, defaultMode?: 'api'): Promise<void> {
  let mode;
  let envWorkers;
  try {
    mode = defaultMode ?? modeOf(flags.mode);
    envWorkers = workersFromEnv();
  } catch (e) {
    throw cannotStart(e);
  }
  switch (mode) {
    case 'all':
      return runUntilSignal(() => serveApi(flags, flags.workers ?? envWorkers ?? 4));
    case 'api':
      return runUntilSignal(() => serveApi(flags, flags.workers ?? 0));
    case 'worker':
      return runUntilSignal(() =>
        startWorker(
          { ...flags, ...(flags.workers !== undefined ? { concurrency: flags.workers } : {}) },
          console.log,
        ),
      );
    case 'mcp':
      markServing();
      return runMcpStdio({
        database: flags.database,
        workers: flags.workers,
        handlers: flags.handlers,
        shell: flags.enableShell,
      }).catch((e: unknown) => {
        throw cannotStart(e);
      });
  }
}
