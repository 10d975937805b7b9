/**
 * @module settle-batcher
 * Completions and failures reported in the same tick are written in one transaction:
 * with a no-op handler and 20 slots that is one commit per 20 items instead of 20.
 * A batch that fails as a whole (database busy) is retried with backoff; the leases stay
 * renewed meanwhile, and if the process dies the reaper returns the items.
 */
import type { Logger } from '../core/logger.js';
import type { Engine, Settlement } from '../engine/engine.js';

type Result = { ok: true } | { ok: false; error: unknown };

export class SettleBatcher {
  private queue: Array<{ s: Settlement; resolve: (r: Result) => void }> = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: Engine,
    private readonly executorId: string,
    private readonly logger: Logger,
  ) {}

  settle(s: Settlement): Promise<Result> {
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
    if (batch.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      try {
        const results = await this.engine.settleMany(
          batch.map((b) => b.s),
          this.executorId,
        );
        batch.forEach((b, i) => b.resolve(results[i]!));
        return;
      } catch (error) {
        if (this.engine.isClosed || attempt >= 6) {
          this.logger.error('could not record results; the reaper will return these items', {
            items: batch.map((b) => b.s.itemId),
            error: String(error),
          });
          batch.forEach((b) => b.resolve({ ok: false, error }));
          return;
        }
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }
}
