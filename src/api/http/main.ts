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
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConveyorError } from '../../core/errors.js';
import type { Handler } from '../../worker/handler-context.js';
import { startServer } from './server.js';

async function loadHandlers(path: string | undefined): Promise<Record<string, Handler>> {
  if (!path) return {};
  const mod = (await import(pathToFileURL(resolve(path)).href)) as {
    default?: Record<string, Handler>;
    handlers?: Record<string, Handler>;
  };
  const handlers = mod.handlers ?? mod.default;
  if (!handlers || typeof handlers !== 'object')
    throw new Error(
      `CONVEYOR_HANDLERS: ${path} exports no handlers (export default { type: fn } or export const handlers)`,
    );
  return handlers;
}

async function main(): Promise<void> {
  const workersText = process.env.CONVEYOR_WORKERS;
  const workers = workersText === undefined || workersText === '' ? 4 : Number(workersText);
  if (!Number.isInteger(workers) || workers < 0 || workers > 10_000)
    throw new Error('CONVEYOR_WORKERS must be a whole number from 0 to 10000');
  const server = await startServer({
    handlers: await loadHandlers(process.env.CONVEYOR_HANDLERS),
    workers,
    logger: process.env.CONVEYOR_LOG === 'debug' ? { level: 'debug' } : { level: 'warn' },
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`conveyor: ${signal}: draining workers and closing`);
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(`conveyor: closing failed: ${String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  const message =
    e instanceof ConveyorError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  console.error(`conveyor: cannot start: ${message}`);
  process.exit(1);
});
