/**
 * @module pg-listener
 * One LISTEN connection per store, outside the pool, on a channel of its own. Writers
 * NOTIFY this channel with the id of the idle claimer they wake (see `announceWork`), so
 * a new item wakes one claimer, not every process. When the connection drops it is
 * re-established with jittered backoff, and every local claimer is woken once, since
 * notifications sent meanwhile are lost.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../core/logger.js';

export class PgListener {
  /** This store's channel: a valid unquoted identifier, unique per store instance. */
  readonly channel = `cv_wake_${randomBytes(8).toString('hex')}`;
  private client: pg.Client | undefined;
  private ready: Promise<void> | undefined;
  private readonly handlers = new Map<string, Set<() => void>>();
  private closed = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly logger: Logger,
  ) {}

  /** Resolves once the channel is listened to (connecting on first use). */
  listening(): Promise<void> {
    // A failed first connect is not remembered: the next caller tries again.
    this.ready ??= this.connect().catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  on(id: string, fn: () => void): () => void {
    let set = this.handlers.get(id);
    if (!set) this.handlers.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.handlers.delete(id);
    };
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('notification', (msg) => this.dispatch(msg.payload));
    client.on('error', (e) => this.lost(client, e));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (e) {
      void client.end().catch(() => undefined);
      throw e;
    }
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
    this.failures = 0;
  }

  private dispatch(id: string | undefined): void {
    const targets = id === undefined ? [] : [...(this.handlers.get(id) ?? [])];
    for (const fn of targets) fn();
  }

  private lost(client: pg.Client, e: Error): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    this.logger.warn(`conveyor: wake-up connection lost (${e.message}); reconnecting`);
    this.reconnect();
  }

  private reconnect(): void {
    if (this.closed || this.retryTimer) return;
    const delay = Math.min(5000, 100 * 2 ** this.failures) * (0.5 + Math.random() / 2);
    this.failures++;
    this.ready = new Promise<void>((resolve) => {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.connect().then(
          () => {
            resolve();
            // Anything sent while we were away is lost: let every local claimer look once.
            for (const set of [...this.handlers.values()]) for (const fn of [...set]) fn();
          },
          () => {
            resolve();
            this.reconnect();
          },
        );
      }, delay);
      this.retryTimer.unref();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.ready?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
