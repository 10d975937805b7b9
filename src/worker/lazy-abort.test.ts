import { describe, expect, it } from 'vitest';
import { LazyAbort } from './lazy-abort.js';

describe('LazyAbort', () => {
  it('makes no controller until the signal is read, and then one for good', () => {
    const a = new LazyAbort();
    const s = a.signal;
    expect(s.aborted).toBe(false);
    expect(a.signal).toBe(s);
  });

  it('a signal read after the abort is already aborted, with the first reason', () => {
    const a = new LazyAbort();
    a.abort('first');
    a.abort('second');
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe('first');
  });

  it('a signal read before the abort fires its listeners once, with the first reason', () => {
    const a = new LazyAbort();
    const reasons: unknown[] = [];
    a.signal.addEventListener('abort', () => reasons.push(a.signal.reason));
    a.abort('first');
    a.abort('second');
    expect(reasons).toEqual(['first']);
  });
});
