import { describe, expect, it } from 'vitest';
import { InvalidTransitionError } from './errors.js';
import {
  ITEM_STATUSES,
  RECEIPT_STATUS,
  TERMINAL_STATUSES,
  TRANSITIONS,
  assertTransition,
  canTransition,
  type ItemStatus,
  type ReceiptStatus,
} from './item-state.js';

const RECEIPTS = Object.values(RECEIPT_STATUS) as ReceiptStatus[];

describe('the work-item state machine', () => {
  it('allows exactly the transitions of CONTRACT §2', () => {
    const legal = new Set<string>();
    for (const [from, tos] of Object.entries(TRANSITIONS)) {
      for (const [to, receipts] of Object.entries(tos))
        for (const r of receipts) legal.add(`${from}>${to}:${r}`);
    }
    expect([...legal].sort()).toEqual(
      [
        'new>pending:enqueued',
        'new>queued:enqueued',
        'pending>queued:queued',
        'pending>skipped:skipped',
        'pending>cancelled:cancelled',
        'queued>assigned:assigned',
        'queued>running:started',
        'queued>cancelled:cancelled',
        'assigned>running:started',
        'assigned>cancelled:cancelled',
        'assigned>queued:lease_expired',
        'assigned>queued:released',
        'assigned>failed:lease_expired',
        'running>running:progress',
        'running>completed:completed',
        'running>failed:failed',
        'running>failed:lease_expired',
        'running>queued:retried',
        'running>queued:lease_expired',
        'running>queued:released',
        'running>cancelled:cancelled',
      ].sort(),
    );
  });

  it('accepts every legal transition', () => {
    for (const [from, tos] of Object.entries(TRANSITIONS) as [
      ItemStatus | 'new',
      Record<string, ReceiptStatus[]>,
    ][]) {
      for (const [to, receipts] of Object.entries(tos)) {
        for (const r of receipts)
          expect(() => assertTransition('x', from, to as ItemStatus, r)).not.toThrow();
      }
    }
  });

  it('rejects every other (from, to, receipt) with INVALID_TRANSITION', () => {
    let rejected = 0;
    for (const from of ['new', ...ITEM_STATUSES] as (ItemStatus | 'new')[]) {
      for (const to of ITEM_STATUSES) {
        for (const r of RECEIPTS) {
          if (canTransition(from, to, r)) continue;
          const err = (() => {
            try {
              assertTransition('item-1', from, to, r);
            } catch (e) {
              return e;
            }
            return null;
          })();
          expect(err, `${from} → ${to} (${r})`).toBeInstanceOf(InvalidTransitionError);
          expect((err as InvalidTransitionError).code).toBe('INVALID_TRANSITION');
          rejected++;
        }
      }
    }
    expect(rejected).toBeGreaterThan(800);
  });

  it('has no way out of a terminal status', () => {
    for (const s of TERMINAL_STATUSES) expect(Object.keys(TRANSITIONS[s])).toEqual([]);
  });

  it('names the item and both statuses in the error', () => {
    expect(() => assertTransition('item-9', 'completed', 'running', 'started')).toThrow(
      /item-9: cannot go from completed to running \(started\)/,
    );
  });
});
