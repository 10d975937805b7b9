/**
 * @module dependencies
 * What a finished item does to the items waiting on it: a completion queues each
 * dependent whose dependencies are now all complete; a failure, cancel or skip skips its
 * pending dependents, and theirs, in one transaction. Also the cycle check for a batch
 * of new items that reference each other.
 */
import { CycleError, type ItemError } from '../core/errors.js';
import type { ItemRecord } from '../store/records.js';
import { takeOver } from './take-over.js';
import { applyTransition, errorOf } from './transition.js';
import type { TxContext } from './tx-context.js';

export async function onItemFinished(c: TxContext, parent: ItemRecord): Promise<void> {
  if (parent.status === 'completed') {
    // The dependents are read now (an item enqueued later in this transaction already
    // counts this parent as done), counted down before commit (`countDownCompleted`).
    for (const id of await c.tx.pendingDependents(parent.id))
      c.countdowns.set(id, (c.countdowns.get(id) ?? 0) + 1);
    return;
  }
  // failed, cancelled or skipped: skip everything downstream that has not started.
  const queue: ItemRecord[] = [parent];
  while (queue.length > 0) {
    const p = queue.shift()!;
    for (const id of await c.tx.pendingDependents(p.id)) {
      const child = await c.tx.getItem(id);
      if (child?.status !== 'pending') continue;
      const { item } = await applyTransition(c, child, {
        to: 'skipped',
        receipt: 'skipped',
        actor: null,
        patch: {
          finishedAt: c.now,
          error: errorOf('DEPENDENCY_FAILED', `dependency ${p.id} ${p.status}`),
        },
      });
      queue.push(item);
    }
  }
}

/**
 * Counts down the dependencies that completed in this transaction so far and queues each
 * dependent with none left. Lock the children first (in id order), then count down: two
 * transactions finishing parents of one child (PostgreSQL) count down one after the
 * other, so exactly one sees 0. One row update per child per transaction, however many of
 * its parents completed in it: a batch of twenty fan-in steps writes the gather row once,
 * not twenty times (and a thousand-wide one is not a million reads).
 */
export async function countDownCompleted(c: TxContext): Promise<void> {
  if (c.countdowns.size === 0) return;
  const counts = c.countdowns;
  c.countdowns = new Map();
  const ids = [...counts.keys()];
  await c.tx.lockItems(ids);
  const counted = await c.tx.countDownDependencies(counts);
  for (const id of ids) {
    const child = counted.get(id);
    // A child skipped in this transaction (another parent failed) stays skipped.
    if (child?.unfinishedDeps === 0 && child.status === 'pending') await queueReady(c, child);
  }
}

/**
 * pending → queued for an item whose dependencies all completed. A workflow step gets its
 * input (templates resolved against its dependencies' outputs) in the same transition; a
 * step whose input cannot be resolved fails at once, through the workflow layer.
 */
async function queueReady(c: TxContext, child: ItemRecord): Promise<void> {
  const ready = child.workflowId !== null && c.hooks ? await c.hooks.ready(c, child) : { patch: {} };
  if ('patch' in ready) {
    await applyTransition(c, child, { to: 'queued', receipt: 'queued', actor: null, patch: ready.patch });
    return;
  }
  const { item: queued } = await applyTransition(c, child, { to: 'queued', receipt: 'queued', actor: null });
  await failUnrunnable(c, queued, ready.error);
}

/**
 * Fails a queued item that cannot run (its input could not be resolved, an open circuit
 * breaker refused it): queued → running → failed, both by `actor`, with no retry; the
 * receipts say who decided and why.
 */
export async function failUnrunnable(
  c: TxContext,
  item: ItemRecord,
  error: ItemError,
  actor = 'conveyor:workflow',
): Promise<void> {
  const running = await takeOver(c, item, actor);
  if (c.hooks && (await c.hooks.fallback(c, running, error, 'retried'))) return;
  const failed = await applyTransition(c, running, {
    to: 'failed',
    receipt: 'failed',
    actor,
    patch: { error, finishedAt: c.now, deadlineAt: null },
    lease: { leaseExpiresAt: null },
  });
  await onItemFinished(c, failed.item);
}

/**
 * Orders new items so each comes after the batch items it depends on; throws CYCLE naming
 * the loop (`a → b → a`) when there is none. Dependencies outside the batch are ignored here.
 */
export function orderByDependencies<T extends { id: string; dependencies: readonly string[] }>(
  items: T[],
): T[] {
  const byId = new Map(items.map((i) => [i.id, i]));
  const state = new Map<string, 'visiting' | 'done'>();
  const ordered: T[] = [];
  const visit = (item: T, path: string[]): void => {
    const s = state.get(item.id);
    if (s === 'done') return;
    if (s === 'visiting') {
      const start = path.indexOf(item.id);
      throw new CycleError([...path.slice(start), item.id]);
    }
    state.set(item.id, 'visiting');
    for (const dep of item.dependencies) {
      const d = byId.get(dep);
      if (d) visit(d, [...path, item.id]);
    }
    state.set(item.id, 'done');
    ordered.push(item);
  };
  for (const item of items) visit(item, []);
  return ordered;
}
