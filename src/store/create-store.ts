/**
 * @module create-store
 * Picks a backend from a database string (CONTRACT §1): a file path, `sqlite:<path>`,
 * `:memory:`, or a `postgres://` URL.
 */
import { ValidationError } from '../core/errors.js';
import type { Store } from './store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';

export const DEFAULT_DATABASE = './conveyor.db';

export interface CreateStoreOptions {
  durability?: SqliteStoreOptions['durability'];
  busyTimeoutMs?: number;
}

export function createStore(database: string = DEFAULT_DATABASE, options: CreateStoreOptions = {}): Store {
  if (/^postgres(ql)?:\/\//i.test(database)) {
    throw new ValidationError([
      {
        field: 'database',
        message:
          'PostgreSQL URLs need the PostgreSQL backend, which this version of conveyor does not include yet',
      },
    ]);
  }
  const filename = database.startsWith('sqlite:') ? database.slice('sqlite:'.length) : database;
  if (filename.length === 0) {
    throw new ValidationError([{ field: 'database', message: 'sqlite: needs a file path or :memory:' }]);
  }
  return new SqliteStore({ filename, ...options });
}
