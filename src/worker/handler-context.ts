/**
 * @module handler-context
 * What a handler receives besides its payload (`ctx`), and how whatever it returns or
 * throws becomes a settlement: NonRetryableError fails for good, RetryAfterError picks its
 * own delay, anything else is retried with the item's backoff.
 */
import {
  ConveyorError,
  NonRetryableError,
  RetryAfterError,
  ValidationError,
  toItemError,
} from '../core/errors.js';
import type { JsonValue, WorkItem } from '../core/types.js';
import type { Engine, Settlement } from '../engine/engine.js';
import { jsonProblem } from '../engine/validation.js';
import type { Resources } from '../resources/registry.js';
import type { ItemRecord } from '../store/records.js';
import { toWorkItem } from '../store/records.js';

/** Ten years: the longest delay a RetryAfterError may ask for. */
const MAX_RETRY_AFTER_MS = 10 * 365 * 24 * 3600 * 1000;

export interface HandlerContext {
  item: WorkItem;
  /** 1 for the first execution. */
  attempt: number;
  executorId: string;
  /** Fencing token of this execution's lease. */
  leaseToken: number;
  /** Aborted on timeout (maxDurationMs), cancel, lost lease, budget exceeded and shutdown. */
  signal: AbortSignal;
  /** Records progress (0–100) as a receipt; renews the lease. */
  progress(percent: number, message?: string): Promise<void>;
  /** Appends a persisted log line (`cv.getWorkItemLogs`). */
  log(message: string): Promise<void>;
  /** Uses `n` (default 1) of budget `key`; throws BUDGET_EXCEEDED when that goes over. */
  consume(key: string, n?: number): Promise<Record<string, number>>;
  resources: Resources;
}

export type Handler<P = any> = (payload: P, ctx: HandlerContext) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

export function createHandlerContext(
  engine: Engine,
  record: ItemRecord,
  executorId: string,
  abort: { readonly signal: AbortSignal },
  resources: Resources,
  /** Called before the handler changes the item other than by a transition (budget use). */
  onChange: () => void = () => undefined,
): HandlerContext {
  const token = record.leaseToken;
  let item: WorkItem | undefined;
  return {
    // Built on first use: most handlers never look, and it costs six date conversions.
    get item() {
      return (item ??= toWorkItem(record));
    },
    attempt: record.attempts,
    executorId,
    leaseToken: token,
    // Made when first read (see lazy-abort.ts).
    get signal() {
      return abort.signal;
    },
    resources,
    async progress(percent, message) {
      if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) {
        throw new ValidationError([{ field: 'percent', message: 'must be a number from 0 to 100' }]);
      }
      await engine.progress(record.id, executorId, percent, message, token);
    },
    async log(message) {
      await engine.log(record.id, String(message));
    },
    consume(key, n = 1) {
      if (typeof key !== 'string' || key.length === 0) {
        return Promise.reject(new ValidationError([{ field: 'key', message: 'must be a non-empty string' }]));
      }
      if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
        return Promise.reject(new ValidationError([{ field: 'n', message: 'must be a finite number ≥ 0' }]));
      }
      onChange();
      return engine.consume(record.id, executorId, key, n, token);
    },
  };
}

/** The settlement for a handler that returned `value`. */
export function settlementForOutput(record: ItemRecord, value: unknown): Settlement {
  const output = value === undefined ? null : value;
  const problem = jsonProblem(output);
  if (problem) {
    return {
      kind: 'fail',
      itemId: record.id,
      token: record.leaseToken,
      error: { code: 'VALIDATION', message: `handler output ${problem}` },
      retryable: false,
    };
  }
  return { kind: 'complete', itemId: record.id, token: record.leaseToken, output: output as JsonValue };
}

/** The settlement for a handler that threw `thrown`. */
export function settlementForError(record: ItemRecord, thrown: unknown): Settlement {
  const base = { kind: 'fail' as const, itemId: record.id, token: record.leaseToken };
  if (thrown instanceof RetryAfterError) {
    const ms = thrown.retryAfterMs;
    // NaN, Infinity or a negative delay would make runAt meaningless: fall back to backoff.
    const valid = typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 && ms <= MAX_RETRY_AFTER_MS;
    return {
      ...base,
      error: toItemError(thrown),
      retryable: true,
      ...(valid ? { retryAfterMs: Math.round(ms) } : {}),
    };
  }
  const retryable =
    !(thrown instanceof NonRetryableError) &&
    !(thrown instanceof ConveyorError && thrown.code === 'BUDGET_EXCEEDED');
  return { ...base, error: toItemError(thrown), retryable };
}
