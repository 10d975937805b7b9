/**
 * @module before-commit
 * What a write transaction settles after its own work and before it commits (and before a
 * claim in the same transaction): the dependents of the items it completed, then the
 * workflow layer's bookkeeping of the steps it moved. Each can set off the other (a queued
 * step the engine runs itself completes at once; a completed step queues its dependents),
 * so both run until neither has anything left. A step the engine runs itself (a map step,
 * a wait) is thus never claimable in between, and no dependent waits for a later commit.
 */
import { countDownCompleted } from './dependencies.js';
import { newStepChanges, type TxContext } from './tx-context.js';

export async function settleBeforeCommit(c: TxContext): Promise<void> {
  for (let round = 0; ; round++) {
    if (round > 100_000) throw new Error('the transaction did not settle');
    if (c.countdowns.size > 0) {
      await countDownCompleted(c);
      continue;
    }
    if (!c.hooks || (c.steps.queued.length === 0 && c.steps.finished.length === 0)) return;
    const changes = c.steps;
    c.steps = newStepChanges();
    await c.hooks.settle(c, changes);
  }
}
