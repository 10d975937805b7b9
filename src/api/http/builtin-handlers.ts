/**
 * @module builtin-handlers
 * Handler types every server and worker runs without configuration (CONTRACT §8):
 * - `noop` completes at once with its payload;
 * - `sleep` waits `payload.ms` (at most an hour), reporting progress, and honours cancellation;
 * - `http` makes one SSRF-guarded request (handlers/http-task.ts);
 * - `shell` runs a command (handlers/shell-task.ts), only when enabled: it hands whoever
 *   can add a task a shell on the machine. When disabled it is not registered at all, so
 *   a `shell` task waits for a worker that has it enabled instead of failing here.
 */
import { NonRetryableError } from '../../core/errors.js';
import type { Handler } from '../../worker/handler-context.js';
import type { OutboundPolicy } from '../../webhooks/outbound.js';
import type { ServerConfig } from './config.js';
import { createHttpTask } from '../handlers/http-task.js';
import { shellTask } from '../handlers/shell-task.js';

const MAX_SLEEP_MS = 3_600_000;
/** Progress is reported at most ten times, and not more often than this. */
const PROGRESS_EVERY_MS = 250;

const noop: Handler = (payload: unknown) => payload ?? null;

const sleep: Handler<{ ms?: unknown } | null> = async (payload, ctx) => {
  const ms = payload?.ms ?? 0;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_SLEEP_MS)
    throw new NonRetryableError(`sleep: payload.ms must be a number from 0 to ${MAX_SLEEP_MS}`);
  const steps = Math.min(10, Math.floor(ms / PROGRESS_EVERY_MS));
  const wait = (span: number) =>
    new Promise<void>((resolve, reject) => {
      if (ctx.signal.aborted) return reject(abortReason(ctx.signal));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(ctx.signal));
      };
      const timer = setTimeout(() => {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve();
      }, span);
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
  if (steps <= 1) await wait(ms);
  else
    for (let i = 1; i <= steps; i++) {
      await wait(ms / steps);
      if (i < steps) await ctx.progress(Math.round((100 * i) / steps));
    }
  return { sleptMs: ms };
};

const abortReason = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error('aborted');

export interface BuiltinOptions {
  /** Register `shell`. Default false. */
  shell?: boolean;
  /** Outbound policy of `http` (the webhooks' policy on a server). Default: no private targets. */
  http?: Partial<OutboundPolicy>;
}

export function createBuiltinHandlers(options: BuiltinOptions = {}): Record<string, Handler> {
  const http = createHttpTask({
    allowPrivate: options.http?.allowPrivate ?? false,
    allowlist: options.http?.allowlist ?? [],
  });
  return { noop, sleep, http, ...(options.shell ? { shell: shellTask } : {}) };
}

/** The built-ins a process runs under `config`: `http` with the webhooks' outbound policy. */
export function builtinHandlersFor(config: ServerConfig, shell?: boolean): Record<string, Handler> {
  return createBuiltinHandlers({
    shell: shell ?? config.shell,
    http: { allowPrivate: config.webhooks.allowPrivate, allowlist: config.webhooks.allowlist },
  });
}

/** The defaults: noop, sleep, and http with no private targets; no shell. */
export const builtinHandlers: Record<string, Handler> = createBuiltinHandlers();
