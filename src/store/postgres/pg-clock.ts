/**
 * @module pg-clock
 * The database server's clock, read without a round trip per transaction: the server's
 * time is sampled now and then, and between samples it is advanced by this process's
 * monotonic clock (`performance.now`), which wall-clock changes (a skewed or stepped
 * `Date.now`) do not move. Every process on one database therefore measures leases,
 * delays and backoff against one clock, off by at most half the round trip of the best
 * recent sample (well under a millisecond on a LAN) plus the drift of a few seconds.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';

// Purpose: the server's wall clock now, in epoch milliseconds (fractional).
const CLOCK_SQL = 'SELECT extract(epoch FROM clock_timestamp()) * 1000 AS now';

/** How often the sample is renewed; also how long a sample is trusted over a closer one. */
const RESYNC_MS = 5_000;

export class PgClock {
  private serverAt = 0;
  private monoAt = 0;
  private rtt = Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pool: pg.Pool) {}

  /**
   * Takes first readings (call before use), then keeps them fresh in the background. The
   * very first round trip of a connection is slow (it also warms the server's caches), so a
   * few are taken and the closest kept: the error is half the best round trip.
   */
  async start(): Promise<void> {
    for (let i = 0; i < 5; i++) await this.sample();
    this.timer = setInterval(() => void this.sample().catch(() => undefined), RESYNC_MS);
    this.timer.unref();
  }

  /** The server's time now, in whole epoch milliseconds. */
  now(): number {
    return Math.floor(this.serverAt + (performance.now() - this.monoAt));
  }

  /**
   * One reading of the server clock, taken as the middle of the round trip. A reading from
   * a slow round trip (a busy server) is kept only when it is much closer than the current
   * one could have drifted to, so a burst of load does not make the clock worse.
   */
  private async sample(): Promise<void> {
    const t0 = performance.now();
    const result = await this.pool.query<{ now: number }>(CLOCK_SQL);
    const t1 = performance.now();
    const rtt = t1 - t0;
    const age = t1 - this.monoAt;
    if (rtt <= this.rtt * 2 || age > RESYNC_MS * 6) {
      this.serverAt = Number(result.rows[0]!.now);
      this.monoAt = (t0 + t1) / 2;
      this.rtt = rtt;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
