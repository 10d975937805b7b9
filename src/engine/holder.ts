/**
 * @module holder
 * Fencing: only the executor that holds an item's lease may report on it. A caller that
 * passes the lease token it was given is also refused after the item was re-claimed —
 * even by an executor with the same id — so a late finisher never overwrites newer state.
 */
import { LeaseLostError, NotFoundError } from '../core/errors.js';
import type { ItemRecord } from '../store/records.js';
import type { TxContext } from './tx-context.js';

export async function getItemOrThrow(c: TxContext, itemId: string): Promise<ItemRecord> {
  const item = await c.tx.getItem(itemId);
  if (!item) throw new NotFoundError('work item', itemId, 'itemId');
  return item;
}

/**
 * The item, if `executorId` (and `leaseToken`, when given) hold it. Terminal items fall
 * through to the state machine, so completing a cancelled item is INVALID_TRANSITION.
 */
export async function getHeldItem(
  c: TxContext,
  itemId: string,
  executorId: string,
  leaseToken?: number,
): Promise<ItemRecord> {
  const item = await getItemOrThrow(c, itemId);
  if (item.status === 'queued' || item.status === 'pending') {
    throw new LeaseLostError(itemId, executorId, `the item is ${item.status}`);
  }
  // Identity first, whatever the status: a late report from a former holder is LEASE_LOST
  // even when the item has since finished under someone else.
  if (item.executorId !== executorId) {
    throw new LeaseLostError(itemId, executorId, `held by ${item.executorId ?? 'nobody'}`);
  }
  if (leaseToken !== undefined && item.leaseToken !== leaseToken) {
    throw new LeaseLostError(itemId, executorId, `lease ${leaseToken} was superseded by ${item.leaseToken}`);
  }
  // The holder itself reporting on a finished item falls through to the state machine
  // (completing a cancelled item is INVALID_TRANSITION).
  return item;
}
