/**
 * @module builtin-handlers
 * Handler types every server runs without configuration (CONTRACT §8): `noop` completes
 * at once with its payload, `sleep` waits `payload.ms` (at most an hour) and honours
 * cancellation. Useful to try the API and to measure it without any handler's own cost.
 */
import { NonRetryableError } from '../../core/errors.js';
import type { Handler } from '../../worker/handler-context.js';

const MAX_SLEEP_MS = 3_600_000;

const noop: Handler = (payload: unknown) => payload ?? null;

const sleep: Handler<{ ms?: unknown } | null> = async (payload, ctx) => {
  const ms = payload?.ms ?? 0;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_SLEEP_MS)
    throw new NonRetryableError(`sleep: payload.ms must be a number from 0 to ${MAX_SLEEP_MS}`);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    ctx.signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('aborted'));
      },
      { once: true },
    );
  });
  return { sleptMs: ms };
};

export const builtinHandlers: Record<string, Handler> = { noop, sleep };
