/**
 * @module execution
 * The push-style primitives of CONTRACT §4, one function each, run inside a transaction:
 * assign, start, progress, complete, fail, cancel, budget use and log lines.
 */
import {
  BudgetExceededError,
  CapabilityMismatchError,
  ExecutorBusyError,
  InvalidTransitionError,
  NotDueError,
  NotFoundError,
  toItemError,
} from '../core/errors.js';
import { isTerminal } from '../core/item-state.js';
import type { JsonValue } from '../core/types.js';
import type { ItemRecord } from '../store/records.js';
import { onItemFinished } from './dependencies.js';
import { getHeldItem, getItemOrThrow } from './holder.js';
import { completeItem, failItem, overBudget } from './settle.js';
import { applyStateChange, applyTransition, errorOf, type TransitionResult } from './transition.js';
import type { TxContext } from './tx-context.js';

function missingCapabilities(item: ItemRecord, capabilities: readonly string[]): string[] {
  const have = new Set(capabilities);
  return item.requiredCapabilities.filter((c) => !have.has(c));
}

/** Checks that the executor exists, has the capabilities and room for one more item. */
async function checkExecutorFor(c: TxContext, item: ItemRecord, executorId: string): Promise<void> {
  const executor = await c.tx.getExecutor(executorId);
  if (!executor) throw new NotFoundError('executor', executorId, 'executorId');
  const missing = missingCapabilities(item, executor.capabilities);
  if (missing.length > 0) throw new CapabilityMismatchError(item.id, executorId, missing);
  if (executor.busy) throw new ExecutorBusyError(executorId, 'marked busy');
  const active = await c.tx.activeCountForExecutor(executorId);
  if (active >= executor.concurrency) {
    throw new ExecutorBusyError(executorId, `${active} of ${executor.concurrency} slots in use`);
  }
}

function checkDue(c: TxContext, item: ItemRecord): void {
  if (item.runAt > c.now) throw new NotDueError(item.id, new Date(item.runAt).toISOString());
}

export async function assign(c: TxContext, itemId: string, executorId: string): Promise<TransitionResult> {
  const item = await getItemOrThrow(c, itemId);
  if (item.status !== 'queued') throw new InvalidTransitionError(itemId, item.status, 'assigned', 'assigned');
  checkDue(c, item);
  await checkExecutorFor(c, item, executorId);
  return applyTransition(c, item, {
    to: 'assigned',
    receipt: 'assigned',
    patch: { executorId, assignedAt: c.now },
    lease: { leaseToken: item.leaseToken + 1, leaseExpiresAt: c.now + c.settings.leaseMs },
  });
}

/** The patch and lease of an item that starts running now. */
export function startPatch(
  c: TxContext,
  item: ItemRecord,
  executorId: string,
  newLease: boolean,
  leaseMs: number,
) {
  return {
    patch: {
      executorId,
      startedAt: c.now,
      assignedAt: item.assignedAt ?? c.now,
      attempts: item.attempts + 1,
      progress: 0,
      progressMessage: null,
      deadlineAt: item.maxDurationMs === null ? null : c.now + item.maxDurationMs,
    },
    lease: { ...(newLease ? { leaseToken: item.leaseToken + 1 } : {}), leaseExpiresAt: c.now + leaseMs },
  };
}

/** assigned → running for the assignee; queued → running in one step (a direct claim). */
export async function start(c: TxContext, itemId: string, executorId: string): Promise<TransitionResult> {
  const item = await getItemOrThrow(c, itemId);
  if (item.status === 'queued') {
    checkDue(c, item);
    await checkExecutorFor(c, item, executorId);
    return applyTransition(c, item, {
      to: 'running',
      receipt: 'started',
      ...startPatch(c, item, executorId, true, c.settings.leaseMs),
    });
  }
  if (item.status === 'pending') throw new InvalidTransitionError(itemId, 'pending', 'running', 'started');
  const held = await getHeldItem(c, itemId, executorId);
  return applyTransition(c, held, {
    to: 'running',
    receipt: 'started',
    ...startPatch(c, held, executorId, false, c.settings.leaseMs),
  });
}

export async function progress(
  c: TxContext,
  itemId: string,
  executorId: string,
  percent: number,
  message: string | undefined,
  leaseToken?: number,
): Promise<TransitionResult> {
  const item = await getHeldItem(c, itemId, executorId, leaseToken);
  return applyTransition(c, item, {
    to: 'running',
    receipt: 'progress',
    patch: { progress: percent, progressMessage: message ?? null },
    lease: { leaseExpiresAt: c.now + c.settings.leaseMs },
  });
}

export interface CompleteArgs {
  success: boolean;
  output: JsonValue;
  error?: unknown;
  usage?: Record<string, number> | undefined;
  leaseToken?: number | undefined;
}

export async function complete(
  c: TxContext,
  itemId: string,
  executorId: string,
  a: CompleteArgs,
): Promise<TransitionResult> {
  const item = await getHeldItem(c, itemId, executorId, a.leaseToken);
  if (!a.success) {
    return failItem(c, item, { error: toItemError(a.error ?? 'reported unsuccessful'), retryable: true });
  }
  if (item.status !== 'running')
    throw new InvalidTransitionError(itemId, item.status, 'completed', 'completed');
  return completeItem(c, item, a.output, a.usage);
}

export interface FailArgs {
  error: unknown;
  retryable: boolean;
  retryAfterMs?: number | undefined;
  leaseToken?: number | undefined;
}

export async function fail(
  c: TxContext,
  itemId: string,
  executorId: string,
  a: FailArgs,
): Promise<TransitionResult> {
  const item = await getHeldItem(c, itemId, executorId, a.leaseToken);
  if (item.status !== 'running') throw new InvalidTransitionError(itemId, item.status, 'failed', 'failed');
  return failItem(c, item, {
    error: toItemError(a.error),
    retryable: a.retryable,
    retryAfterMs: a.retryAfterMs,
  });
}

export async function cancel(
  c: TxContext,
  itemId: string,
  actor: string | null,
  reason: string,
): Promise<TransitionResult> {
  const item = await getItemOrThrow(c, itemId);
  if (isTerminal(item.status))
    throw new InvalidTransitionError(itemId, item.status, 'cancelled', 'cancelled');
  const result = await applyTransition(c, item, {
    to: 'cancelled',
    receipt: 'cancelled',
    actor,
    patch: { finishedAt: c.now, deadlineAt: null, error: errorOf('CANCELLED', reason) },
    lease: { leaseExpiresAt: null },
  });
  if (item.status === 'assigned' || item.status === 'running') {
    c.effects.revoked.push({
      itemId,
      code: 'CANCELLED',
      message: `work item ${itemId} was cancelled: ${reason}`,
    });
  }
  await onItemFinished(c, result.item);
  return result;
}

/**
 * Records `n` more of budget `key`. Going over the limit fails the item (not retryable)
 * in this transaction and throws BUDGET_EXCEEDED to the caller.
 */
export async function consume(
  c: TxContext,
  itemId: string,
  executorId: string,
  key: string,
  n: number,
  leaseToken?: number,
): Promise<{ usage: Record<string, number>; failed?: BudgetExceededError }> {
  const item = await getHeldItem(c, itemId, executorId, leaseToken);
  if (item.status !== 'running') throw new InvalidTransitionError(itemId, item.status, 'running', 'progress');
  const usage = { ...item.usage, [key]: (item.usage[key] ?? 0) + n };
  const over = overBudget(item, usage);
  if (!over) {
    await applyStateChange(c, item, 'item.usage', { usage });
    return { usage };
  }
  const error = new BudgetExceededError(itemId, over.key, over.used, over.limit);
  await failItem(c, item, {
    error: { code: error.code, message: error.message },
    retryable: false,
    extraPatch: { usage },
  });
  c.effects.revoked.push({ itemId, code: 'BUDGET_EXCEEDED', message: error.message });
  return { usage, failed: error };
}

export async function appendLog(c: TxContext, itemId: string, message: string): Promise<void> {
  const item = await getItemOrThrow(c, itemId);
  await c.tx.appendLog(itemId, item.attempts, c.now, message);
}
