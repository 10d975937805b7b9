/**
 * @module leases
 * The pull side: claiming items under a lease, renewing leases, handing items back on
 * shutdown, and the reaper that returns items whose holder went quiet or ran past its
 * deadline.
 */
import type { ClaimSpec } from '../store/store.js';
import type { ItemRecord } from '../store/records.js';
import { startPatch } from './execution.js';
import { failItem, inItsPlace } from './settle.js';
import { failUnrunnable } from './dependencies.js';
import { admit } from './policies.js';
import { applyStateChange, applyTransition, errorOf } from './transition.js';
import { settleBeforeCommit } from './before-commit.js';
import type { TxContext } from './tx-context.js';

export interface ClaimRequest extends Omit<ClaimSpec, 'now'> {
  executorId: string;
  leaseMs: number;
}

/** queued → running for up to `limit` items, one `started` receipt each (the one-step claim). */
export async function claim(c: TxContext, req: ClaimRequest): Promise<ItemRecord[]> {
  await settleBeforeCommit(c);
  // The leases run from when the items are claimed. A settle-and-claim transaction can wait
  // above for a busy workflow row (the bookkeeping of its completions) for longer than a
  // lease: leases counted from its start would expire before they were handed out, and the
  // reaper would give the items to another worker while this one runs them.
  c.now = c.clockNow();
  const candidates = await c.tx.claimCandidates({ ...req, now: c.now });
  const claimed: ItemRecord[] = [];
  for (const item of candidates) {
    // Policies shared by every worker: an open breaker fails it here, a rate limit
    // reschedules it; neither reaches the worker.
    const admission = await admit(c, item);
    if (admission.kind === 'later') {
      await applyStateChange(c, item, 'item.rate_limited', {
        runAt: admission.runAt,
        policies: admission.policies,
      });
      continue;
    }
    if (admission.kind === 'open') {
      const message = `circuit breaker ${admission.key} is open until ${new Date(admission.retryAt).toISOString()}`;
      await failUnrunnable(c, item, errorOf('CIRCUIT_OPEN', message), 'conveyor:circuit-breaker');
      continue;
    }
    const start = startPatch(c, item, req.executorId, true, req.leaseMs);
    const { item: running } = await applyTransition(c, item, {
      to: 'running',
      receipt: 'started',
      ...start,
      patch: admission.policies ? { ...start.patch, policies: admission.policies } : start.patch,
    });
    claimed.push(running);
  }
  await c.tx.touchExecutor(req.executorId, c.now);
  return claimed;
}

export interface HeldLease {
  id: string;
  token: number;
}

/**
 * Renews the listed leases; returns the ids the executor no longer holds. An item whose
 * row is busy in another transaction (its result being written) is not among them.
 */
export async function heartbeat(
  c: TxContext,
  executorId: string,
  leases: HeldLease[],
  leaseMs: number,
): Promise<string[]> {
  const { lost } = await c.tx.renewLeases(executorId, leases, c.now + leaseMs);
  await c.tx.touchExecutor(executorId, c.now);
  return lost;
}

/** Hands still-held items back to the queue at once, without spending a retry. */
export async function release(c: TxContext, executorId: string, leases: HeldLease[]): Promise<number> {
  let released = 0;
  await c.tx.lockItems(leases.map((l) => l.id));
  for (const l of leases) {
    const item = await c.tx.getItem(l.id);
    if (!item || item.executorId !== executorId || item.leaseToken !== l.token) continue;
    if (item.status !== 'running' && item.status !== 'assigned') continue;
    await applyTransition(c, item, {
      to: 'queued',
      receipt: 'released',
      actor: executorId,
      patch: { executorId: null, runAt: inItsPlace(c, item), deadlineAt: null },
      lease: { leaseExpiresAt: null },
    });
    released++;
  }
  return released;
}

/**
 * Returns items with an expired lease (`lease_expired`, an attempt spent; retried at once
 * or failed) and fails running items past their deadline (`TIMEOUT`, retried with backoff).
 */
export async function reap(c: TxContext, limit: number): Promise<number> {
  const expired = await c.tx.expiredItems(c.now, limit);
  for (const item of expired) {
    if (item.status === 'running' && item.deadlineAt !== null && item.deadlineAt < c.now) {
      const error = errorOf('TIMEOUT', `ran longer than maxDurationMs ${item.maxDurationMs}`);
      c.effects.revoked.push({ itemId: item.id, code: 'TIMEOUT', message: error.message });
      await failItem(c, item, { error, retryable: true });
      continue;
    }
    const error = errorOf('LEASE_EXPIRED', `lease of ${item.executorId ?? 'unknown executor'} expired`);
    c.effects.revoked.push({ itemId: item.id, code: 'LEASE_EXPIRED', message: error.message });
    await failItem(c, item, {
      error,
      retryable: true,
      receipt: 'lease_expired',
      immediate: true,
      countAttempt: item.status === 'assigned',
    });
  }
  return expired.length;
}
