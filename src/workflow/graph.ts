/**
 * @module graph
 * Topological order of a dependency graph, for steps and for phases alike. Linear in
 * nodes + edges (Kahn's algorithm, no recursion), so a 10,000-step chain neither takes
 * quadratic time nor overflows the stack; on a cycle it names one.
 */
import { CycleError } from '../core/errors.js';

export interface Ordered {
  /** Every id, each after everything it depends on; ties keep the order of `ids`. */
  order: string[];
  /** id → the ids that depend on it, in the order of `ids`. */
  dependents: Map<string, string[]>;
}

/**
 * Orders `ids` by their dependencies (each a set, so an edge counts once). Dependencies
 * not in `ids` are ignored: the caller has refused them already. Throws CYCLE with the
 * loop in dependency direction: `a → b → a` means a depends on b.
 */
export function topologicalOrder(
  ids: readonly string[],
  depsOf: (id: string) => ReadonlySet<string>,
): Ordered {
  const waiting = new Map<string, number>(ids.map((id) => [id, 0]));
  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const id of ids) {
    let n = 0;
    for (const dep of depsOf(id)) {
      const list = dependents.get(dep);
      if (!list) continue;
      list.push(id);
      n++;
    }
    waiting.set(id, n);
  }
  const order = ids.filter((id) => waiting.get(id) === 0);
  // `order` doubles as the queue: entries before `next` are done, the rest are ready.
  for (let next = 0; next < order.length; next++) {
    for (const child of dependents.get(order[next]!)!) {
      const left = waiting.get(child)! - 1;
      waiting.set(child, left);
      if (left === 0) order.push(child);
    }
  }
  if (order.length < ids.length) throw new CycleError(findCycle(ids, depsOf, waiting));
  return { order, dependents };
}

/**
 * After Kahn's algorithm stalls, every node still waiting has a dependency that is still
 * waiting too; following those from any of them must come back round to a node seen before.
 */
function findCycle(
  ids: readonly string[],
  depsOf: (id: string) => ReadonlySet<string>,
  waiting: ReadonlyMap<string, number>,
): string[] {
  const stuck = (id: string): boolean => (waiting.get(id) ?? 0) > 0;
  const path: string[] = [];
  const seenAt = new Map<string, number>();
  let cur = ids.find(stuck);
  while (cur !== undefined && !seenAt.has(cur)) {
    seenAt.set(cur, path.length);
    path.push(cur);
    cur = [...depsOf(cur)].find(stuck);
  }
  if (cur === undefined) return path; // unreachable: a stuck node always has a stuck dependency
  return [...path.slice(seenAt.get(cur)), cur];
}
