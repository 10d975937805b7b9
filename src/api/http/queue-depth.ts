/**
 * @module queue-depth
 * Queue depth over time for the dashboard's chart (`GET /api/stats/queue`): every
 * `intervalMs` the item counts by status of each known tenant (the API keys' tenants, or
 * the one tenant without keys) are sampled into a ring of `keep` samples (an hour at the
 * default 5 s). The counts are the store's, so the chart shows every worker's work, not
 * this process's; the history is this process's memory, so it starts again at a restart.
 */
import type { Conveyor } from '../../client/conveyor.js';
import type { ItemCounts } from '../../core/types.js';

export interface DepthSample {
  at: string;
  counts: ItemCounts;
}

export class QueueDepthSampler {
  private readonly rings = new Map<string, DepthSample[]>();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly cv: Conveyor,
    private readonly tenants: readonly string[],
    readonly intervalMs = 5000,
    private readonly keep = 720,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Samples of `tenant`, oldest first. */
  samples(tenant: string): DepthSample[] {
    return [...(this.rings.get(tenant) ?? [])];
  }

  /** One round over the tenants; a round still running when the next is due is skipped. */
  private async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      for (const tenant of this.tenants) {
        const counts = await this.cv.getCounts({ tenant });
        const ring = this.rings.get(tenant) ?? [];
        ring.push({ at: new Date().toISOString(), counts });
        if (ring.length > this.keep) ring.splice(0, ring.length - this.keep);
        this.rings.set(tenant, ring);
      }
    } catch {
      // A store that cannot be read now (closing, restarting) leaves a gap in the chart;
      // /health reports the store itself.
    } finally {
      this.sampling = false;
    }
  }
}
