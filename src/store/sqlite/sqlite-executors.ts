/**
 * @module sqlite-executors
 * Executor registrations (push executors and pull workers) and their last heartbeat.
 */
import type Database from 'better-sqlite3';
import type { ExecutorReads, StoreWrites } from '../store.js';
import { executorParams, toExecutor, type ExecutorRow } from '../rows/log-rows.js';

export function createSqliteExecutors(
  db: Database.Database,
): ExecutorReads & Pick<StoreWrites, 'upsertExecutor' | 'touchExecutor'> {
  const upsert = db.prepare(
    `INSERT INTO executors (id, capabilities, concurrency, busy, registered_at, last_seen_at)
     VALUES (@id, @capabilities, @concurrency, @busy, @registered_at, @last_seen_at)
     ON CONFLICT (id) DO UPDATE SET capabilities = excluded.capabilities, concurrency = excluded.concurrency,
       busy = excluded.busy, last_seen_at = excluded.last_seen_at`,
  );
  const touch = db.prepare('UPDATE executors SET last_seen_at = ? WHERE id = ?');
  const get = db.prepare<[string], ExecutorRow>('SELECT * FROM executors WHERE id = ?');
  const all = db.prepare<[], ExecutorRow>('SELECT * FROM executors ORDER BY id');
  return {
    getExecutor(id) {
      const row = get.get(id);
      return row ? toExecutor(row) : undefined;
    },
    listExecutors: () => all.all().map(toExecutor),
    upsertExecutor(e) {
      upsert.run(executorParams(e));
    },
    touchExecutor(id, at) {
      touch.run(at, id);
    },
  };
}
