/**
 * @module sqlite-store
 * The embedded backend: one better-sqlite3 connection per Store, WAL journal, a busy
 * timeout so several processes can share a file, `BEGIN IMMEDIATE` for every write so a
 * transaction never has to upgrade its lock half way (the classic SQLITE_BUSY deadlock).
 *
 * Row limits are bound as `LIMIT ? + 0`, never a bare `LIMIT ?`: SQLite (3.53, in
 * better-sqlite3 12) lets the planner read a bare bound LIMIT as a constant, so each new
 * binding (better-sqlite3 binds on every run) expires the statement and its next run
 * prepares it again: +17–30 µs per claim or event read, measured. An expression is not a
 * constant to the planner; the plan is the same. eslint.config.js rejects the bare form.
 */
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../../core/clock.js';
import { ClosedError } from '../../core/errors.js';
import { DelegatedReads } from '../delegated-reads.js';
import type { Store, StoreReads, WriteTx } from '../store.js';
import { migrateSqlite } from './migrate.js';
import { createSqliteEvents } from './sqlite-events.js';
import { createSqliteExecutors } from './sqlite-executors.js';
import { createSqliteItems } from './sqlite-items.js';
import { createSqliteWorkflows } from './sqlite-workflows.js';
import { createSqliteLogs } from './sqlite-logs.js';
import { createSqliteReceipts } from './sqlite-receipts.js';
import { createSqliteService } from './sqlite-service.js';
import { Checkpointer } from './checkpointer.js';
import { TxLock } from './tx-lock.js';

export interface SqliteStoreOptions {
  /** File path or ':memory:'. */
  filename: string;
  /**
   * 'normal' (default): WAL with synchronous=NORMAL — a committed transaction survives a
   * process crash; the last ones may be lost if the machine loses power.
   * 'full': synchronous=FULL — an fsync per commit, survives power loss, slower.
   */
  durability?: 'normal' | 'full' | undefined;
  /** How long a write waits for another process's write lock (ms). Default 10000. */
  busyTimeoutMs?: number | undefined;
  /** Tuning of the checkpoint thread (file databases only); see checkpointer.ts. */
  checkpoint?: { intervalMs?: number; truncateFrames?: number } | undefined;
  /** Where a transaction's "now" comes from. Default: the process clock. */
  clock?: Clock | undefined;
}

export class SqliteStore extends DelegatedReads implements Store {
  readonly kind = 'sqlite' as const;
  readonly db: Database.Database;
  private readonly lock = new TxLock();
  private readonly tx: WriteTx;
  protected readonly reads: StoreReads;
  private closed = false;
  private readonly checkpointer: Checkpointer | undefined;
  /** The checkpointer's last failure, if any (it retries on its next tick). */
  lastCheckpointError: string | undefined;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly clock: Clock;

  constructor(options: SqliteStoreOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.db = new Database(options.filename);
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    if (options.filename !== ':memory:') {
      this.db.pragma('journal_mode = WAL');
      // Checkpoints run in a helper thread (see checkpointer.ts), not inside our COMMITs.
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new Checkpointer(
        { filename: options.filename, busyTimeoutMs: options.busyTimeoutMs ?? 10_000, ...options.checkpoint },
        (message) => (this.lastCheckpointError = message),
      );
    }
    this.db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    migrateSqlite(this.db);
    this.tx = {
      ...createSqliteItems(this.db),
      ...createSqliteReceipts(this.db),
      ...createSqliteEvents(this.db),
      ...createSqliteExecutors(this.db),
      ...createSqliteLogs(this.db),
      ...createSqliteWorkflows(this.db),
      ...createSqliteService(this.db),
      // One process per file is woken in-process; others notice data_version move.
      announceWork: () => undefined,
    };
    this.reads = this.guardReads(this.tx);
    this.begin = this.db.prepare('BEGIN IMMEDIATE');
    this.commit = this.db.prepare('COMMIT');
    this.rollback = this.db.prepare('ROLLBACK');
  }

  async write<T>(fn: (tx: WriteTx, now: number) => Promise<T>): Promise<T> {
    if (this.closed) throw new ClosedError('store');
    return this.lock.run(async () => {
      this.begin.run();
      try {
        const result = await fn(this.tx, this.clock.now());
        this.commit.run();
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.rollback.run();
        throw e;
      }
    });
  }

  changeCounter(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lock.run(() => Promise.resolve());
    await this.checkpointer?.close();
    this.db.close();
  }

  /**
   * Reads outside a transaction must not see another caller's uncommitted writes on this
   * connection: when a transaction is open they wait for it; otherwise they run at once.
   */
  private guardReads(ops: StoreReads): StoreReads {
    const guarded: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(ops) as [string, (...args: unknown[]) => unknown][]) {
      guarded[name] = (...args: unknown[]) => {
        if (this.closed) throw new ClosedError('store');
        return this.lock.busy ? this.lock.run(() => Promise.resolve(fn(...args))) : fn(...args);
      };
    }
    return guarded as unknown as StoreReads;
  }
}
