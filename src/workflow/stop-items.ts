/**
 * @module stop-items
 * Ending what is left of a workflow (cancelWorkflow, a failFast failure) or of a map step
 * whose child failed: items that started or were waiting their turn in the queue are
 * cancelled (a running handler's signal aborts), items still waiting for dependencies are
 * skipped. All in the caller's transaction.
 */
import { isTerminal } from '../core/item-state.js';
import { onItemFinished } from '../engine/dependencies.js';
import { applyTransition, errorOf } from '../engine/transition.js';
import type { TxContext } from '../engine/tx-context.js';
import type { ItemRecord } from '../store/records.js';

const OPEN_STATUSES = ['pending', 'queued', 'assigned', 'running'] as const;

/** Cancels or skips every unfinished item of the workflow (steps and map children). */
export async function stopWorkflowItems(c: TxContext, workflowId: string, reason: string): Promise<number> {
  let stopped = 0;
  for (;;) {
    const { items } = await c.tx.listItems({ workflowId, status: [...OPEN_STATUSES] }, { limit: 1000 });
    let progress = false;
    for (const listed of items) {
      const done = await stopItem(c, listed.id, reason);
      if (done) stopped++;
      progress ||= done;
    }
    if (!progress) return stopped;
  }
}

/** Cancels or skips these items (those still unfinished when reached). */
export async function stopItems(c: TxContext, ids: readonly string[], reason: string): Promise<void> {
  await c.tx.lockItems(ids);
  for (const id of ids) await stopItem(c, id, reason);
}

/** false when the item had already finished (a cascade from an earlier stop reached it). */
async function stopItem(c: TxContext, id: string, reason: string): Promise<boolean> {
  const item = await c.tx.getItem(id);
  if (!item || isTerminal(item.status)) return false;
  const error = errorOf('CANCELLED', reason);
  const pending = item.status === 'pending';
  const { item: stopped } = await applyTransition(c, item, {
    to: pending ? 'skipped' : 'cancelled',
    receipt: pending ? 'skipped' : 'cancelled',
    actor: 'conveyor:workflow',
    patch: { finishedAt: c.now, deadlineAt: null, error },
    lease: { leaseExpiresAt: null },
  });
  if (item.status === 'assigned' || item.status === 'running') revoke(c, item, reason);
  await onItemFinished(c, stopped);
  return true;
}

function revoke(c: TxContext, item: ItemRecord, reason: string): void {
  c.effects.revoked.push({
    itemId: item.id,
    code: 'CANCELLED',
    message: `work item ${item.id} was cancelled: ${reason}`,
  });
}
