/**
 * @module pg-store
 * The PostgreSQL backend: a pool of connections (capped by `poolSize`), tables in their
 * own schema, transactions that run concurrently and coordinate through row locks. Each
 * transaction takes its time from the database server's clock (`PgClock`), so leases,
 * delays and backoff are measured on one clock however skewed the workers' own clocks are. A deadlock or a lost
 * idempotency race runs the transaction again; a refused connection (server restarting)
 * is retried with jittered backoff before the caller sees an error.
 */
import pg from 'pg';
import type { Clock } from '../../core/clock.js';
import { ClosedError, ValidationError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { DelegatedReads } from '../delegated-reads.js';
import type { Store, StoreReads, Wakeups, WriteTx } from '../store.js';
import { createPgItemReads } from './pg-items.js';
import { PgClock } from './pg-clock.js';
import { PgListener } from './pg-listener.js';
import { migratePg } from './pg-migrate.js';
import { createPgReads } from './pg-records.js';
import { createPgWorkflowReads } from './pg-workflows.js';
import { createPgServiceReads } from './pg-service.js';
import { FenceMissed, PgTx, type PgTxStats } from './pg-tx.js';
import {
  isConnectionError,
  isRetryableTxError,
  pgTypes,
  queryOn,
  SCHEMA_NAME,
  type Query,
} from './pg-sql.js';

export interface PgStoreOptions {
  /** `postgres://user:pass@host:port/db` (libpq URL; `?sslmode=…` and friends work). */
  url: string;
  /** Schema for Conveyor's tables, so several apps can share one database. Default 'conveyor'. */
  schema?: string | undefined;
  /** Connections per process for queries (one more is used for wake-ups). Default 10. */
  poolSize?: number | undefined;
  /** Tests only: replaces the database clock (time travel). */
  clock?: Clock | undefined;
  /** How long a transaction keeps retrying a refused connection before it fails. Default 10000 ms. */
  connectRetryMs?: number | undefined;
  logger?: Logger | undefined;
}

const MAX_TX_RUNS = 8;

export class PgStore extends DelegatedReads implements Store {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  readonly pool: pg.Pool;
  readonly wakeups: Wakeups;
  protected readonly reads: StoreReads;
  private readonly listener: PgListener;
  private readonly clock: PgClock;
  private readonly logger: Logger;
  private closed = false;
  /** Counts of this store's write transactions. */
  readonly stats: PgTxStats = { roundTrips: 0, fenceMissed: 0 };

  private constructor(private readonly options: PgStoreOptions) {
    super();
    this.schema = options.schema ?? 'conveyor';
    this.logger = options.logger ?? silentLogger;
    const config: pg.PoolConfig = {
      connectionString: options.url,
      // Every connection resolves our unqualified table names in our schema.
      options: `-c search_path=${this.schema}`,
      types: pgTypes,
      max: options.poolSize ?? 10,
      application_name: 'conveyor',
    };
    this.pool = new pg.Pool(config);
    // An idle connection the server dropped (restart) must not crash the process; the pool
    // replaces it on the next checkout.
    this.pool.on('error', (e) => this.logger.warn(`conveyor: idle database connection lost: ${e.message}`));
    const query = queryOn(this.pool);
    this.reads = {
      ...createPgItemReads(query, false),
      ...createPgReads(query),
      ...createPgWorkflowReads(query, false),
      ...createPgServiceReads(query),
    };
    this.listener = new PgListener(config, this.logger);
    this.clock = new PgClock(this.pool);
    this.wakeups = this.createWakeups(query);
  }

  /** Connects, creates the schema if needed and applies pending migrations. */
  static async open(options: PgStoreOptions): Promise<PgStore> {
    const schema = options.schema ?? 'conveyor';
    if (!SCHEMA_NAME.test(schema)) {
      throw new ValidationError([
        {
          field: 'schema',
          message: 'must be a lower-case identifier: a-z, 0-9 and _, at most 63 characters',
        },
      ]);
    }
    const poolSize = options.poolSize ?? 10;
    if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
      throw new ValidationError([{ field: 'poolSize', message: 'must be a whole number from 1 to 1000' }]);
    }
    const store = new PgStore(options);
    try {
      // No retries here: a wrong URL or a server that is down fails the start at once.
      const client = await store.pool.connect();
      let broken: Error | undefined;
      const onError = (e: Error) => (broken = e);
      client.on('error', onError);
      try {
        await migratePg(client, schema);
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
      // After the release: with poolSize 1 the clock's first reading needs that connection.
      await store.clock.start();
    } catch (e) {
      await store.pool.end().catch(() => undefined);
      throw e;
    }
    return store;
  }

  async write<T>(fn: (tx: WriteTx, now: number) => Promise<T>): Promise<T> {
    let trustKnown = true;
    for (let run = 1; ; run++) {
      if (this.closed) throw new ClosedError('store');
      const client = await this.connect();
      let broken: Error | undefined;
      // A checked-out connection's errors are ours to handle (the pool only watches idle
      // ones): without a listener, a server shutdown mid-transaction would crash the process.
      const onError = (e: Error) => (broken = e);
      client.on('error', onError);
      try {
        const now = this.options.clock ? this.options.clock.now() : this.clock.now();
        const tx = new PgTx(client, now, `conveyor:events:${this.schema}`, trustKnown, this.stats);
        const result = await fn(tx.view(), now);
        await tx.commit();
        return result;
      } catch (e) {
        if (isConnectionError(e)) broken = e as Error;
        else await client.query('ROLLBACK').catch((r: unknown) => (broken = r as Error));
        // Rows taken as known were not (see PgTx.lockItems): run again, reading them.
        if (e instanceof FenceMissed && trustKnown) {
          trustKnown = false;
          this.stats.fenceMissed++;
          continue;
        }
        if (run < MAX_TX_RUNS && isRetryableTxError(e)) {
          await sleep(Math.random() * 5 * run);
          continue;
        }
        throw e;
      } finally {
        // A connection that failed mid-transaction is discarded, not reused.
        client.removeListener('error', onError);
        client.release(broken);
      }
    }
  }

  /** A pooled connection, retrying refused connections (server restarting) with jittered backoff. */
  private async connect(): Promise<pg.PoolClient> {
    const deadline = Date.now() + (this.options.connectRetryMs ?? 10_000);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.pool.connect();
      } catch (e) {
        if (this.closed) throw new ClosedError('store');
        if (!isConnectionError(e) || Date.now() > deadline) throw e;
        await sleep(Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  async changeCounter(): Promise<number> {
    return this.reads.headSeq();
  }

  private createWakeups(query: Query): Wakeups {
    const listener = this.listener;
    return {
      async idle(waiter, ttlMs) {
        await listener.listening();
        // Registrations of processes that died lapse; clear the long-lapsed ones now and then.
        if (Math.random() < 0.05)
          await query(
            `DELETE FROM waiters WHERE expires_at < floor(extract(epoch FROM clock_timestamp()) * 1000) - 60000`,
          );
        await query(
          `INSERT INTO waiters (id, channel, types, queues, caps, since, expires_at)
           SELECT $1, $2, $3, $4, $5, t, t + $6
             FROM (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS t) AS clock
           ON CONFLICT (id) DO UPDATE SET channel = excluded.channel, types = excluded.types,
             queues = excluded.queues, caps = excluded.caps, since = excluded.since,
             expires_at = excluded.expires_at`,
          [
            waiter.id,
            listener.channel,
            waiter.types ? [...waiter.types] : null,
            waiter.queues ? [...waiter.queues] : null,
            [...waiter.capabilities],
            ttlMs,
          ],
        );
      },
      async busy(waiterId) {
        await query('DELETE FROM waiters WHERE id = $1', [waiterId]);
      },
      onWake: (waiterId, fn) => listener.on(waiterId, fn),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clock.stop();
    await this.listener.close();
    await this.pool.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
