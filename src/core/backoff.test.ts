import { describe, expect, it } from 'vitest';
import { backoffDelayMs, type BackoffPolicy } from './backoff.js';

const p = (o: Partial<BackoffPolicy>): BackoffPolicy => ({
  type: 'exponential',
  baseMs: 100,
  maxMs: 10_000,
  jitter: 0,
  ...o,
});

describe('backoff', () => {
  it('exponential doubles from baseMs and stops at maxMs', () => {
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelayMs(p({}), n))).toEqual([
      100, 200, 400, 800, 1600, 10_000,
    ]);
  });
  it('linear grows by baseMs', () => {
    expect([1, 2, 3].map((n) => backoffDelayMs(p({ type: 'linear' }), n))).toEqual([100, 200, 300]);
  });
  it('fixed stays at baseMs', () => {
    expect([1, 2, 9].map((n) => backoffDelayMs(p({ type: 'fixed' }), n))).toEqual([100, 100, 100]);
  });
  it('jitter randomises the given share of the delay', () => {
    const policy = p({ type: 'fixed', baseMs: 1000, jitter: 0.5 });
    expect(backoffDelayMs(policy, 1, () => 0)).toBe(500);
    expect(backoffDelayMs(policy, 1, () => 0.999999)).toBe(1000);
    expect(backoffDelayMs(p({ type: 'fixed', baseMs: 1000, jitter: 1 }), 1, () => 0.25)).toBe(250);
  });
  it('spreads 1,000 simultaneous retries', () => {
    const policy = p({ type: 'fixed', baseMs: 10_000, maxMs: 10_000, jitter: 1 });
    const perSecond = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const s = Math.floor(backoffDelayMs(policy, 1) / 1000);
      perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
    }
    expect(Math.max(...perSecond.values())).toBeLessThan(200);
  });
});
