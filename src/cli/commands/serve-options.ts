/**
 * @module cli/commands/serve-options
 * The flags of the processes that open a store and run handlers (start, server, worker,
 * mcp), each with the CONVEYOR_* variable it overrides (CONTRACT §8).
 */
import { Option, type Command } from 'commander';
import { intArg } from '../options.js';

export interface HandlerFlags {
  /** A module whose default (or `handlers`) export maps task types to handlers. */
  handlers?: string;
  /** Register the built-in `shell` type; otherwise CONVEYOR_SHELL decides. */
  enableShell?: boolean;
}

export interface WorkerFlags extends HandlerFlags {
  database?: string;
  concurrency?: number;
  types?: string[];
  queue?: string[];
  id?: string;
}

export interface ServeFlags extends HandlerFlags {
  mode?: string;
  host?: string;
  port?: number;
  database?: string;
  workers?: number;
}

export const MODES = ['all', 'api', 'worker', 'mcp'] as const;
export type Mode = (typeof MODES)[number];

export const databaseOption = (): Option =>
  new Option('--database <url>', 'SQLite file, sqlite:<path>, :memory: or postgres:// URL').env(
    'CONVEYOR_DATABASE_URL',
  );

export function handlerOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--handlers <module>', 'a module exporting { taskType: handler }').env('CONVEYOR_HANDLERS'),
    )
    .option('--enable-shell', 'register the built-in shell task type (as CONVEYOR_SHELL=true)');
}

/** --host, --port, --database, --workers and the handler flags. */
export function serveOptions(command: Command, workersHelp: string): Command {
  return handlerOptions(
    command
      .option('--host <host>', 'listen on this address (CONVEYOR_HOST; default 127.0.0.1)')
      .option('--port <port>', 'listen on this port, 0 for any free one (CONVEYOR_PORT)', intArg(0, 65535))
      .addOption(databaseOption())
      .option('--workers <n>', workersHelp, intArg(0, 10_000)),
  );
}

/** CONVEYOR_WORKERS, or undefined when unset. */
export function workersFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.CONVEYOR_WORKERS;
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 10_000)
    throw new Error('CONVEYOR_WORKERS must be a whole number from 0 to 10000');
  return n;
}

/** --mode, else CONVEYOR_MODE, else `all`. */
export function modeOf(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Mode {
  const mode = flag ?? (env.CONVEYOR_MODE || 'all');
  if (!(MODES as readonly string[]).includes(mode)) {
    // A flag is checked by commander (exit 2); a bad variable fails the start (exit 1).
    const source = flag !== undefined ? '--mode' : 'CONVEYOR_MODE';
    throw new Error(`${source} must be one of ${MODES.join(', ')}, not ${JSON.stringify(mode)}`);
  }
  return mode as Mode;
}
