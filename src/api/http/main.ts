#!/usr/bin/env node
/**
 * @module main
 * The `conveyor-server` entry point (until the CLI of CONTRACT §8 takes it over): serves
 * the API with in-process workers. Reads CONVEYOR_DATABASE_URL, CONVEYOR_HOST,
 * CONVEYOR_PORT, CONVEYOR_WORKERS (default 4), CONVEYOR_HANDLERS (a module whose default
 * export, or `handlers` export, maps task types to handlers), CONVEYOR_API_KEYS or
 * CONVEYOR_API_KEY_FILE, and the CONVEYOR_WEBHOOK_* settings. SIGINT or SIGTERM drains
 * the workers and closes the store.
 */
import { ConveyorError } from '../../core/errors.js';
import { loadHandlers } from '../handlers-module.js';
import { startServer, type RunningServer } from './server.js';

async function main(): Promise<void> {
  const workersText = process.env.CONVEYOR_WORKERS;
  const workers = workersText === undefined || workersText === '' ? 4 : Number(workersText);
  if (!Number.isInteger(workers) || workers < 0 || workers > 10_000)
    throw new Error('CONVEYOR_WORKERS must be a whole number from 0 to 10000');
  // Signals are handled from the start: one that comes while the server is still starting
  // closes it once it is up, instead of killing the process half way.
  let stopping = false;
  const start: { server?: Promise<RunningServer> } = {};
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`conveyor: ${signal}: draining workers and closing`);
    // Before the start began there is nothing to close.
    (start.server ?? Promise.resolve(undefined))
      .then((server) => server?.close())
      .then(
        () => process.exit(0),
        (e: unknown) => {
          console.error(`conveyor: closing failed: ${String(e)}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const handlers = await loadHandlers(process.env.CONVEYOR_HANDLERS);
  start.server = startServer({
    handlers,
    workers,
    logger: process.env.CONVEYOR_LOG === 'debug' ? { level: 'debug' } : { level: 'warn' },
  });
  await start.server;
}

main().catch((e: unknown) => {
  const message =
    e instanceof ConveyorError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  console.error(`conveyor: cannot start: ${message}`);
  process.exit(1);
});
