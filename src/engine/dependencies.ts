/**
 * @module dependencies
 * What a finished item does to the items waiting on it: a completion queues each
 * dependent whose dependencies are now all complete; a failure, cancel or skip skips its
 * pending dependents, and theirs, in one transaction. Also the cycle check for a batch
 * of new items that reference each other.
 */
import { CycleError } from '../core/errors.js';
import type { ItemRecord } from '../store/records.js';
import { applyTransition, errorOf } from './transition.js';
import type { TxContext } from './tx-context.js';

export async function onItemFinished(c: TxContext, parent: ItemRecord): Promise<void> {
  if (parent.status === 'completed') {
    for (const id of await c.tx.pendingDependents(parent.id)) {
      // Lock the child before counting: two parents finishing at once (PostgreSQL) would
      // otherwise each see the other unfinished, and neither would queue it.
      const child = await c.tx.getItem(id);
      if (child?.status !== 'pending') continue;
      if ((await c.tx.unfinishedDependencies(id)) > 0) continue;
      await applyTransition(c, child, { to: 'queued', receipt: 'queued', actor: null });
    }
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
