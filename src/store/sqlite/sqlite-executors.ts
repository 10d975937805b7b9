/**
 * @module sqlite-executors
 * Executor registrations (push executors and pull workers) and their last heartbeat.
 */
import type Database from 'better-sqlite3';
import type { ExecutorRecord } from '../records.js';
import type { ExecutorReads, StoreWrites } from '../store.js';

interface ExecutorRow {
  id: string;
  capabilities: string;
  concurrency: number;
  busy: number;
  registered_at: number;
  last_seen_at: number;
}

const toExecutor = (r: ExecutorRow): ExecutorRecord => ({
  id: r.id,
  capabilities: JSON.parse(r.capabilities) as string[],
  concurrency: r.concurrency,
  busy: r.busy === 1,
  registeredAt: r.registered_at,
  lastSeenAt: r.last_seen_at,
});

export function createSqliteExecutors(
  db: Database.Database,
): ExecutorReads & Pick<StoreWrites, 'upsertExecutor' | 'touchExecutor'> {
  const upsert = db.prepare(
    `INSERT INTO executors (id, capabilities, concurrency, busy, registered_at, last_seen_at)
     VALUES (@id, @capabilities, @concurrency, @busy, @registeredAt, @lastSeenAt)
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
      upsert.run({ ...e, capabilities: JSON.stringify(e.capabilities), busy: e.busy ? 1 : 0 });
    },
    touchExecutor(id, at) {
      touch.run(at, id);
    },
  };
}
