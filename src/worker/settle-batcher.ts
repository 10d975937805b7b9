/**
 * @module settle-batcher
 * Completions and failures reported in the same tick are written in one transaction,
 * together with the claim of the slots they free: with a no-op handler and 20 slots that
 * is one commit per 20 items instead of 40. A batch that fails as a whole (database busy)
 * is retried with backoff; the leases stay renewed meanwhile, and if the process dies the
 * reaper returns the items.
 */
import type { Logger } from '../core/logger.js';
import type { Engine, SettleResult, Settlement } from '../engine/engine.js';
import type { ClaimRequest } from '../engine/leases.js';
import type { ItemRecord } from '../store/records.js';

/** How the worker lends its free slots to a batch's claim. */
export interface ClaimHooks {
  /** A claim for the slots free once `settling` runs end (reserved until `claimed`), or null. */
  reserve(settling: number): ClaimRequest | null;
  /** The claim made with `request` returned `items` (possibly none). */
  claimed(request: ClaimRequest, items: ItemRecord[]): void;
}

/** What became of one settlement. */
export interface Settled {
  result: SettleResult;
  refilled: boolean;
}

interface Entry {
  s: Settlement;
  resolve: (r: Settled) => void;
}

export class SettleBatcher {
  private queue: Entry[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: Engine,
    private readonly executorId: string,
    private readonly logger: Logger,
    private readonly hooks: ClaimHooks,
  ) {}

  /**
   * Writes `s` with the others of this tick. `refilled` says whether the same transaction
   * also claimed work for the slots the batch frees (so the worker need not look again).
   */
  settle(s: Settlement): Promise<Settled> {
    return new Promise((resolve) => {
      this.queue.push({ s, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flushing = this.flushing.then(() => this.flush());
        });
      }
    });
  }

  /** Resolves when everything handed in so far is written. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled) {
      await new Promise((r) => setImmediate(r));
      await this.flushing;
    }
    await this.flushing;
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    await this.write(batch);
  }

  /**
   * Writes a batch, retrying with backoff. A batch that still fails is split: one bad entry
   * (a value the database refuses) must not hold back the results of the others.
   */
  private async write(batch: Entry[]): Promise<void> {
    if (batch.length === 0) return;
    const settlements = batch.map((b) => b.s);
    const attempts = batch.length > 1 ? 2 : 6;
    for (let attempt = 0; ; attempt++) {
      const request = this.hooks.reserve(batch.length);
      try {
        const { results, claimed } = await this.engine.settleMany(settlements, this.executorId, request);
        batch.forEach((b, i) => b.resolve({ result: results[i]!, refilled: request !== null }));
        if (request) this.hooks.claimed(request, claimed);
        return;
      } catch (error) {
        if (request) this.hooks.claimed(request, []);
        if (this.engine.isClosed) {
          batch.forEach((b) => b.resolve({ result: { ok: false, error }, refilled: false }));
          return;
        }
        if (attempt + 1 >= attempts) {
          if (batch.length > 1) {
            for (const entry of batch) await this.write([entry]);
            return;
          }
          this.logger.error('could not record a result; the reaper will return the item', {
            item: settlements[0]!.itemId,
            error: String(error),
          });
          batch[0]!.resolve({ result: { ok: false, error }, refilled: false });
          return;
        }
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }
}
