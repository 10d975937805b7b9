/**
 * @module policies
 * The item policies whose state lives in the store, so that every worker in every process
 * sees the same: a token bucket per `rateLimit` key and a circuit breaker per
 * `circuitBreaker` key. Claims ask `admit` for each candidate; settles tell `recordOutcome`
 * how an attempt went. Both run in the caller's transaction (PostgreSQL locks the rows, so
 * two processes take turns on one key).
 */
import type { ItemPolicies } from '../core/types.js';
import type { ItemRecord } from '../store/records.js';
import type { BreakerRecord } from '../store/workflow-records.js';
import type { TxContext } from './tx-context.js';

export type Admission =
  /** It may run; `policies`, when given, is what the item's policies become as it starts. */
  | { kind: 'run'; policies?: ItemPolicies }
  /**
   * Over its rate limit: it has reserved a future token and runs at `runAt`, with
   * `policies` (which record the reservation) patched onto it meanwhile.
   */
  | { kind: 'later'; runAt: number; policies: ItemPolicies }
  /** Its circuit breaker is open: fail it (or run its fallback) without running it. */
  | { kind: 'open'; key: string; retryAt: number };

/** Whether a candidate may run now. Takes a token from its bucket when it may. */
export async function admit(c: TxContext, item: ItemRecord): Promise<Admission> {
  const p = item.policies;
  if (!p) return { kind: 'run' };
  if (p.circuitBreaker) {
    const verdict = await passBreaker(c, item, p.circuitBreaker);
    if (verdict) return verdict;
  }
  if (p.rateLimit) return takeToken(c, p, p.rateLimit);
  return { kind: 'run' };
}

/** Counts an attempt's outcome against its circuit breaker (if it has one). */
export async function recordOutcome(c: TxContext, item: ItemRecord, ok: boolean): Promise<void> {
  const policy = item.policies?.circuitBreaker;
  if (!policy) return;
  const b = await c.tx.lockBreaker(closedBreaker(policy.key, c.now));
  if (ok) {
    if (b.state === 'closed' && b.failures === 0) return;
    await c.tx.putBreaker({
      ...b,
      state: 'closed',
      failures: 0,
      openedAt: null,
      trialItemId: null,
      updatedAt: c.now,
    });
    return;
  }
  const failures = b.failures + 1;
  // A failed trial opens it again at once; a closed one opens at the threshold.
  const open = b.state === 'half_open' || failures >= policy.failureThreshold;
  await c.tx.putBreaker({
    ...b,
    failures,
    state: open ? 'open' : b.state,
    openedAt: open ? c.now : b.openedAt,
    trialItemId: open ? null : b.trialItemId,
    updatedAt: c.now,
  });
}

const closedBreaker = (key: string, now: number): BreakerRecord => ({
  key,
  state: 'closed',
  failures: 0,
  openedAt: null,
  trialItemId: null,
  updatedAt: now,
});

/**
 * closed: pass. open: refuse until resetTimeoutMs has passed, then let this one item
 * through as the trial (half_open). half_open: only the trial passes; the others are
 * refused while it runs.
 */
async function passBreaker(
  c: TxContext,
  item: ItemRecord,
  policy: NonNullable<ItemPolicies['circuitBreaker']>,
): Promise<Admission | null> {
  const b = await c.tx.lockBreaker(closedBreaker(policy.key, c.now));
  if (b.state === 'closed') return null;
  const retryAt = (b.openedAt ?? c.now) + policy.resetTimeoutMs;
  if (b.state === 'open') {
    if (c.now < retryAt) return { kind: 'open', key: policy.key, retryAt };
    await c.tx.putBreaker({ ...b, state: 'half_open', trialItemId: item.id, updatedAt: c.now });
    return null;
  }
  if (b.trialItemId === item.id) return null;
  // The trial's holder may have died: after another reset period, let a new trial through.
  if (c.now - b.updatedAt >= policy.resetTimeoutMs) {
    await c.tx.putBreaker({ ...b, trialItemId: item.id, updatedAt: c.now });
    return null;
  }
  return { kind: 'open', key: policy.key, retryAt: b.updatedAt + policy.resetTimeoutMs };
}

/**
 * Refills the bucket for the time passed, then takes one token. With none left the item
 * reserves the next free one (the bucket goes into debt by one) and is rescheduled to when
 * that token exists: waiting items queue up one token apart instead of all retrying at the
 * same moment, and none of them polls.
 */
async function takeToken(
  c: TxContext,
  policies: ItemPolicies,
  policy: NonNullable<ItemPolicies['rateLimit']>,
): Promise<Admission> {
  if (policy.reserved) {
    // Its token was taken when it was rescheduled; it runs now and the mark goes.
    const { reserved: _r, ...rest } = policy;
    return { kind: 'run', policies: { ...policies, rateLimit: rest } };
  }
  const bucket = await c.tx.lockRateBucket({ key: policy.key, tokens: policy.burst, updatedAt: c.now });
  const elapsed = Math.max(0, c.now - bucket.updatedAt);
  const tokens = Math.min(policy.burst, bucket.tokens + (elapsed / 1000) * policy.perSecond) - 1;
  await c.tx.putRateBucket({ key: policy.key, tokens, updatedAt: c.now });
  if (tokens >= 0) return { kind: 'run' };
  const waitMs = Math.max(1, Math.ceil((-tokens / policy.perSecond) * 1000));
  return {
    kind: 'later',
    runAt: c.now + waitMs,
    policies: { ...policies, rateLimit: { ...policy, reserved: true } },
  };
}
