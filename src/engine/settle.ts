/**
 * @module settle
 * How a running item ends: completed, retried with backoff, or failed — and what that
 * does to its dependents. Shared by the primitives, the worker's batched completions and
 * the reaper.
 */
import { backoffDelayMs } from '../core/backoff.js';
import type { ItemError } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';
import type { ItemRecord } from '../store/records.js';
import { onItemFinished } from './dependencies.js';
import { recordOutcome } from './policies.js';
import { applyTransition, type TransitionResult } from './transition.js';
import type { TxContext } from './tx-context.js';

/** The first budget key whose use is over its limit, if any. */
export function overBudget(
  item: ItemRecord,
  usage: Record<string, number>,
): { key: string; used: number; limit: number } | null {
  if (!item.budget) return null;
  for (const [key, limit] of Object.entries(item.budget)) {
    const used = usage[key] ?? 0;
    if (used > limit) return { key, used, limit };
  }
  return null;
}

export function addUsage(
  a: Record<string, number>,
  b: Record<string, number> | undefined,
): Record<string, number> {
  if (!b) return a;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export async function completeItem(
  c: TxContext,
  item: ItemRecord,
  output: JsonValue,
  usage: Record<string, number> | undefined,
): Promise<TransitionResult> {
  const total = addUsage(item.usage, usage);
  const over = overBudget(item, total);
  if (over) {
    return failItem(
      c,
      { ...item, usage: total },
      {
        error: {
          code: 'BUDGET_EXCEEDED',
          message: `budget ${over.key} exceeded (${over.used} > ${over.limit})`,
        },
        retryable: false,
        extraPatch: { usage: total },
      },
    );
  }
  await recordOutcome(c, item, true);
  const result = await applyTransition(c, item, {
    to: 'completed',
    receipt: 'completed',
    patch: {
      output,
      progress: 100,
      finishedAt: c.now,
      deadlineAt: null,
      error: null,
      ...(usage ? { usage: total } : {}),
    },
    lease: { leaseExpiresAt: null },
  });
  await onItemFinished(c, result.item);
  return result;
}

export interface FailOptions {
  error: ItemError;
  retryable: boolean;
  retryAfterMs?: number | undefined;
  /** The receipt to write; `lease_expired` for the reaper. */
  receipt?: 'failed' | 'lease_expired';
  /**
   * Retry at once instead of after backoff, in the item's old place in the queue (an expired
   * lease: the holder is gone, not the work; see `inItsPlace`).
   */
  immediate?: boolean;
  /** Also count an attempt (an assigned item that never started). */
  countAttempt?: boolean;
  extraPatch?: { usage?: Record<string, number> };
}

/** Retries the item if it may (retryable and retries left), otherwise fails it for good. */
export async function failItem(c: TxContext, item: ItemRecord, o: FailOptions): Promise<TransitionResult> {
  const attempts = item.attempts + (o.countAttempt ? 1 : 0);
  const common = { error: o.error, deadlineAt: null, attempts, ...o.extraPatch };
  // A holder that vanished says nothing about the service behind the breaker.
  if (o.receipt !== 'lease_expired') await recordOutcome(c, item, false);
  if (o.retryable && item.retries < item.maxRetries) {
    const retries = item.retries + 1;
    const asked = o.retryAfterMs;
    // A handler-chosen delay must be a finite, non-negative number; anything else gets backoff.
    const usable = asked !== undefined && Number.isFinite(asked) && asked >= 0;
    const runAt = o.immediate
      ? inItsPlace(c, item)
      : c.now + (usable ? asked : backoffDelayMs(item.backoff, retries, c.settings.random));
    return applyTransition(c, item, {
      to: 'queued',
      receipt: o.receipt === 'lease_expired' ? 'lease_expired' : 'retried',
      actor: item.executorId,
      patch: { ...common, retries, runAt, executorId: null },
      lease: { leaseExpiresAt: null },
    });
  }
  if (c.hooks && item.workflowId !== null) {
    // A workflow step with a fallback carries on as the fallback instead of failing.
    const receipt = o.receipt === 'lease_expired' ? 'lease_expired' : 'retried';
    const instead = await c.hooks.fallback(c, { ...item, attempts, ...o.extraPatch }, o.error, receipt);
    if (instead) return instead;
  }
  const result = await applyTransition(c, item, {
    to: 'failed',
    receipt: o.receipt ?? 'failed',
    patch: { ...common, finishedAt: c.now },
    lease: { leaseExpiresAt: null },
  });
  await onItemFinished(c, result.item);
  return result;
}

/**
 * The run time of an item handed back to the queue through no fault of its own (its
 * holder's lease expired, or the holder shut down): the one it had, which is past, so it
 * is claimed before the items queued after it, as it was when first claimed. Sent to the
 * back of the queue, it waited out the whole backlog: a killed worker's items were done
 * by the others seconds after their leases ran out, not at once.
 */
export const inItsPlace = (c: TxContext, item: ItemRecord): number => Math.min(item.runAt, c.now);
