/**
 * @module create-store
 * Picks a backend from a database string (CONTRACT §1): a file path, `sqlite:<path>`,
 * `:memory:`, or a `postgres://` URL.
 */
import type { Clock } from '../core/clock.js';
import { ConveyorError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { PgStore } from './postgres/pg-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export const DEFAULT_DATABASE = './conveyor.db';

export interface CreateStoreOptions {
  durability?: SqliteStoreOptions['durability'];
  busyTimeoutMs?: number | undefined;
  /** SQLite: the time source. PostgreSQL: replaces the database clock (tests only). */
  clock?: Clock | undefined;
  /** PostgreSQL schema for Conveyor's tables. Default 'conveyor'. */
  schema?: string | undefined;
  /** PostgreSQL connections per process (plus one for wake-ups). Default 10. */
  poolSize?: number | undefined;
  logger?: Logger | undefined;
}

export const isPostgresUrl = (database: string): boolean => /^postgres(ql)?:\/\//i.test(database);

export async function createStore(
  database: string = DEFAULT_DATABASE,
  options: CreateStoreOptions = {},
): Promise<Store> {
  if (isPostgresUrl(database)) {
    try {
      return await PgStore.open({
        url: database,
        schema: options.schema,
        poolSize: options.poolSize,
        clock: options.clock,
        logger: options.logger,
      });
    } catch (e) {
      if (e instanceof ConveyorError) throw e;
      const message = e instanceof Error ? e.message : String(e);
      throw new ConveyorError('STORE', `cannot open the PostgreSQL database: ${message}`, { cause: e });
    }
  }
  if (options.schema !== undefined || options.poolSize !== undefined) {
    const field = options.schema !== undefined ? 'schema' : 'poolSize';
    throw new ValidationError([{ field, message: 'applies to PostgreSQL databases only' }]);
  }
  const filename = database.startsWith('sqlite:') ? database.slice('sqlite:'.length) : database;
  if (filename.length === 0) {
    throw new ValidationError([{ field: 'database', message: 'sqlite: needs a file path or :memory:' }]);
  }
  return new SqliteStore({
    filename,
    durability: options.durability,
    busyTimeoutMs: options.busyTimeoutMs,
    clock: options.clock,
  });
}
