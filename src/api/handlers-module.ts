/**
 * @module handlers-module
 * CONVEYOR_HANDLERS: the module whose default export (or `handlers` export) maps task types
 * to handler functions, for the processes that run workers (`conveyor-server`, `conveyor-mcp`).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Handler } from '../worker/handler-context.js';

export async function loadHandlers(path: string | undefined): Promise<Record<string, Handler>> {
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
