/**
 * @module backoff
 * Retry delays. Pure: the random source is passed in so tests are exact.
 */

export const BACKOFF_TYPES = ['exponential', 'fixed', 'linear'] as const;
export type BackoffType = (typeof BACKOFF_TYPES)[number];

export interface BackoffPolicy {
  type: BackoffType;
  /** Delay before the first retry. */
  baseMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
  /**
   * Share of the delay that is random, 0..1: the delay becomes `d * (1 - jitter + jitter * r)`.
   * 0 = exact delays, 0.5 = "equal jitter", 1 = "full jitter". `true` means 1.
   */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  type: 'exponential',
  baseMs: 1000,
  maxMs: 300_000,
  jitter: 0.5,
};

/**
 * Delay before retry number `retry` (1 for the first retry).
 * exponential: base·2^(retry-1); linear: base·retry; fixed: base; then capped at maxMs
 * and jittered.
 */
export function backoffDelayMs(
  policy: BackoffPolicy,
  retry: number,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(retry));
  let delay: number;
  switch (policy.type) {
    case 'exponential':
      delay = policy.baseMs * 2 ** (n - 1);
      break;
    case 'linear':
      delay = policy.baseMs * n;
      break;
    case 'fixed':
      delay = policy.baseMs;
      break;
  }
  delay = Math.min(delay, policy.maxMs);
  const j = Math.min(1, Math.max(0, policy.jitter));
  if (j > 0) delay = delay * (1 - j + j * random());
  return Math.round(delay);
}
