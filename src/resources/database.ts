/**
 * @module database
 * Database handles for handlers, declared as resources:
 * `resources: { db: () => createPostgresPool({ url }) }` gives every handler one shared
 * `pg.Pool`; `createSqliteDatabase({ filename })` one better-sqlite3 `Database`. They are
 * the drivers' own objects, not wrappers, so their whole API is there; the registry closes
 * them on `cv.close()` by the method each has (`pg.Pool#end`, `Database#close`).
 *
 * These are the application's databases. Conveyor's own store is opened by
 * `createConveyor({ database })` and is not reachable from here.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { ValidationError } from '../core/errors.js';
import { defaultLogger, type Logger } from '../core/logger.js';

export interface PostgresPoolOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** Most connections open at once; queries beyond wait for one. Default 10 (pg's own default). */
  max?: number;
  /** Close a connection idle this long. Default 10000 (pg's own default). */
  idleTimeoutMillis?: number;
  /** Shown in pg_stat_activity, so a DBA can tell whose connections these are. Default 'conveyor-handler'. */
  applicationName?: string;
  /** Where a lost idle connection is reported. Default: stderr. */
  logger?: Logger;
}

export interface SqliteDatabaseOptions {
  /** A file path, or ':memory:' for a private in-memory database. */
  filename: string;
  /** Open for reading only; writes throw SQLITE_READONLY. Default false. */
  readonly?: boolean;
  /** Fail instead of creating the file when it does not exist. Default false (true when readonly). */
  fileMustExist?: boolean;
  /** How long a write waits for another connection's lock before SQLITE_BUSY. Default 5000. */
  busyTimeoutMs?: number;
}

/**
 * A PostgreSQL pool for handlers. Connections open on first query, not here, so declaring
 * the resource costs nothing until a handler uses it.
 *
 * Prefer `pool.query(…)`: it checks a connection out and back in around one statement. A
 * handler that calls `pool.connect()` must `release()` the client in a `finally`, or the
 * pool runs dry after `max` such handlers.
 */
export function createPostgresPool(options: PostgresPoolOptions): pg.Pool {
  const { url, max = 10 } = options;
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url)) {
    throw new ValidationError([{ field: 'url', message: 'must be a postgres:// URL' }]);
  }
  if (!Number.isInteger(max) || max < 1) {
    throw new ValidationError([{ field: 'max', message: 'must be an integer ≥ 1' }]);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 10_000,
    application_name: options.applicationName ?? 'conveyor-handler',
  });
  // An idle connection the server dropped (restart, idle_session_timeout) is emitted on the
  // pool; unheard, that 'error' would crash the worker process. The pool replaces the
  // connection on the next query, so reporting it is enough.
  const logger = options.logger ?? defaultLogger;
  pool.on('error', (e) => logger.warn(`postgres pool: idle connection lost: ${e.message}`));
  return pool;
}

/**
 * A better-sqlite3 database for handlers. Its calls are synchronous: they block the event
 * loop (and so the worker's heartbeats) while they run, which is fine for the short
 * queries SQLite is good at and wrong for long scans.
 */
export function createSqliteDatabase(options: SqliteDatabaseOptions): Database.Database {
  const { filename, readonly = false } = options;
  if (typeof filename !== 'string' || filename.length === 0) {
    throw new ValidationError([{ field: 'filename', message: 'must be a non-empty string' }]);
  }
  const db = new Database(filename, {
    readonly,
    fileMustExist: options.fileMustExist ?? readonly,
    timeout: options.busyTimeoutMs ?? 5000,
  });
  // WAL lets handlers read while another connection writes (other workers, other processes
  // on the same file); changing the journal mode is a write, so a read-only handle keeps
  // whatever mode the file has.
  if (!readonly && filename !== ':memory:') db.pragma('journal_mode = WAL');
  return db;
}
