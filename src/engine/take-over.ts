/**
 * @module take-over
 * Items the engine runs itself rather than a worker: a workflow's map step while its
 * children run, a step waiting for an external event, a cache hit, a step refused by an
 * open breaker. They go queued → running with the engine's own actor as executor, and no
 * lease (nobody heartbeats it; a deadline, when given, still lets the reaper time it out).
 */
import type { ItemRecord } from '../store/records.js';
import { applyTransition } from './transition.js';
import type { TxContext } from './tx-context.js';

export async function takeOver(
  c: TxContext,
  item: ItemRecord,
  actor: string,
  deadlineAt: number | null = null,
): Promise<ItemRecord> {
  const { item: running } = await applyTransition(c, item, {
    to: 'running',
    receipt: 'started',
    actor,
    patch: {
      executorId: actor,
      startedAt: c.now,
      assignedAt: item.assignedAt ?? c.now,
      attempts: item.attempts + 1,
      progress: 0,
      progressMessage: null,
      deadlineAt,
    },
    lease: { leaseToken: item.leaseToken + 1, leaseExpiresAt: null },
  });
  return running;
}
