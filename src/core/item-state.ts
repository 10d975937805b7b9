/**
 * @module item-state
 * The work-item state machine of CONTRACT §2 as one table. Every status change in the
 * engine goes through `assertTransition`; a pair missing from `TRANSITIONS` is an
 * `INVALID_TRANSITION` error, never a silent no-op.
 */
import { InvalidTransitionError } from './errors.js';

export const ITEM_STATUS = {
  /** Waiting for its dependencies to complete; not claimable. */
  pending: 'pending',
  /** Ready to run once `runAt` has passed; claimable by a capable executor. */
  queued: 'queued',
  /** Handed to one executor (push model) under a lease, not yet started. */
  assigned: 'assigned',
  /** Executing under a lease that heartbeats renew. */
  running: 'running',
  /** Finished with an output. Terminal. */
  completed: 'completed',
  /** Retries exhausted, not retryable, over budget. Terminal. */
  failed: 'failed',
  /** Cancelled by a caller. Terminal. */
  cancelled: 'cancelled',
  /** Never ran because a dependency failed, was cancelled or was skipped. Terminal. */
  skipped: 'skipped',
} as const;
export type ItemStatus = (typeof ITEM_STATUS)[keyof typeof ITEM_STATUS];
export const ITEM_STATUSES = Object.values(ITEM_STATUS) as ItemStatus[];

export const TERMINAL_STATUSES: ReadonlySet<ItemStatus> = new Set([
  'completed',
  'failed',
  'cancelled',
  'skipped',
]);

export function isTerminal(status: ItemStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/**
 * What a receipt says happened. `queued` (dependencies done) and `released` (a worker
 * shutting down hands an item back) extend the list of
 * CONTRACT §3, which has no receipt for those two transitions. A release keeps the attempt
 * count (the execution did start) but spends no retry.
 */
export const RECEIPT_STATUS = {
  enqueued: 'enqueued',
  queued: 'queued',
  assigned: 'assigned',
  started: 'started',
  progress: 'progress',
  completed: 'completed',
  failed: 'failed',
  retried: 'retried',
  cancelled: 'cancelled',
  skipped: 'skipped',
  lease_expired: 'lease_expired',
  released: 'released',
} as const;
export type ReceiptStatus = (typeof RECEIPT_STATUS)[keyof typeof RECEIPT_STATUS];

/**
 * The legal transitions: `TRANSITIONS[from][to]` lists the receipts that may record the
 * move. `from` is `null` for a new item. `progress` is the one receipt that keeps the
 * status (running → running).
 */
export const TRANSITIONS: Readonly<
  Record<ItemStatus | 'new', Partial<Record<ItemStatus, readonly ReceiptStatus[]>>>
> = {
  new: { pending: ['enqueued'], queued: ['enqueued'] },
  pending: { queued: ['queued'], skipped: ['skipped'], cancelled: ['cancelled'] },
  queued: { assigned: ['assigned'], running: ['started'], cancelled: ['cancelled'] },
  assigned: {
    running: ['started'],
    cancelled: ['cancelled'],
    queued: ['lease_expired', 'released'],
    failed: ['lease_expired'],
  },
  running: {
    running: ['progress'],
    completed: ['completed'],
    failed: ['failed', 'lease_expired'],
    queued: ['retried', 'lease_expired', 'released'],
    cancelled: ['cancelled'],
  },
  completed: {},
  failed: {},
  cancelled: {},
  skipped: {},
};

/** Throws `INVALID_TRANSITION` unless `from → to` recorded by `receipt` is in the table. */
export function assertTransition(
  itemId: string,
  from: ItemStatus | 'new',
  to: ItemStatus,
  receipt: ReceiptStatus,
): void {
  const allowed = TRANSITIONS[from][to];
  if (!allowed || !allowed.includes(receipt)) {
    throw new InvalidTransitionError(itemId, from, to, receipt);
  }
}

export function canTransition(from: ItemStatus | 'new', to: ItemStatus, receipt: ReceiptStatus): boolean {
  return TRANSITIONS[from][to]?.includes(receipt) ?? false;
}
