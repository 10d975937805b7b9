#!/usr/bin/env node
/**
 * @module mcp/main
 * The `conveyor-mcp` entry point (CONTRACT §7's `conveyor mcp`, until the CLI takes it
 * over): the MCP tools over stdio for an agent that starts it as a subprocess, over the
 * store of CONVEYOR_DATABASE_URL, with an in-process worker (CONVEYOR_WORKERS, default 4)
 * for the built-in handlers and those of CONVEYOR_HANDLERS. stdout carries the protocol
 * only; everything else goes to stderr. It exits when the agent closes stdin.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createConveyor } from '../../client/create-conveyor.js';
import { ConveyorError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { builtinHandlers } from '../http/builtin-handlers.js';
import { loadHandlers } from '../handlers-module.js';
import { createMcpServer } from './tools.js';

const stderr: Logger = {
  debug: () => {},
  info: () => {},
  warn: (m) => process.stderr.write(`conveyor-mcp: ${m}\n`),
  error: (m) => process.stderr.write(`conveyor-mcp: ${m}\n`),
};

async function main(): Promise<void> {
  const workersText = process.env.CONVEYOR_WORKERS;
  const workers = workersText === undefined || workersText === '' ? 4 : Number(workersText);
  if (!Number.isInteger(workers) || workers < 0 || workers > 10_000)
    throw new Error('CONVEYOR_WORKERS must be a whole number from 0 to 10000');
  const handlers = await loadHandlers(process.env.CONVEYOR_HANDLERS);
  const cv = await createConveyor({ logger: stderr });
  const worker =
    workers > 0 ? cv.worker({ handlers: { ...builtinHandlers, ...handlers }, concurrency: workers }) : null;
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

main().catch((e: unknown) => {
  const message =
    e instanceof ConveyorError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`conveyor-mcp: cannot start: ${message}\n`);
  process.exit(1);
});
