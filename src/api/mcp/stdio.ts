/**
 * @module mcp/stdio
 * `conveyor mcp` (CONTRACT §7), also the `conveyor-mcp` bin: the MCP tools over stdio for
 * an agent that starts Conveyor as a subprocess, over the store of `database`
 * (CONVEYOR_DATABASE_URL), with an in-process worker (default CONVEYOR_WORKERS, else 4)
 * for the built-in handlers and those of the handlers module (CONVEYOR_HANDLERS). stdout
 * carries the protocol only; everything else goes to stderr. It exits when the agent
 * closes stdin, or on SIGINT/SIGTERM.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createConveyor } from '../../client/create-conveyor.js';
import type { Logger } from '../../core/logger.js';
import { builtinHandlersFor } from '../http/builtin-handlers.js';
import { configFromEnv } from '../http/config.js';
import { loadHandlers } from '../handlers-module.js';
import { createMcpServer } from './tools.js';

export interface McpStdioOptions {
  /** Store URL or path (default CONVEYOR_DATABASE_URL, else ./conveyor.db). */
  database?: string | undefined;
  /** Concurrency of the in-process worker; 0 runs none (default CONVEYOR_WORKERS, else 4). */
  workers?: number | undefined;
  /** The handlers module's path (default CONVEYOR_HANDLERS). */
  handlers?: string | undefined;
  /** Register the built-in `shell` type (default CONVEYOR_SHELL). */
  shell?: boolean | undefined;
}

const stderr: Logger = {
  debug: () => {},
  info: () => {},
  warn: (m) => process.stderr.write(`conveyor-mcp: ${m}\n`),
  error: (m) => process.stderr.write(`conveyor-mcp: ${m}\n`),
};

function workersFromEnv(): number {
  const text = process.env.CONVEYOR_WORKERS;
  const workers = text === undefined || text === '' ? 4 : Number(text);
  if (!Number.isInteger(workers) || workers < 0 || workers > 10_000)
    throw new Error('CONVEYOR_WORKERS must be a whole number from 0 to 10000');
  return workers;
}

/** Serves until stdin closes or a signal comes, then closes the store and exits 0. */
export async function runMcpStdio(options: McpStdioOptions = {}): Promise<void> {
  const workers = options.workers ?? workersFromEnv();
  const config = configFromEnv(process.env);
  const handlers = await loadHandlers(options.handlers ?? process.env.CONVEYOR_HANDLERS);
  const cv = await createConveyor({
    logger: stderr,
    ...(options.database ? { database: options.database } : {}),
  });
  const builtins = builtinHandlersFor(config, options.shell);
  const worker =
    workers > 0 ? cv.worker({ handlers: { ...builtins, ...handlers }, concurrency: workers }) : null;
  await worker?.start();
  const server = createMcpServer(cv, { tenant: cv.defaultTenant });
  const transport = new StdioServerTransport();
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await server.close();
    await cv.close();
    process.exit(0);
  };
  transport.onclose = () => void close();
  process.stdin.on('end', () => void close());
  process.on('SIGTERM', () => void close());
  process.on('SIGINT', () => void close());
  await server.connect(transport);
}
