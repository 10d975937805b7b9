/**
 * @module migrate
 * SQLite migrations (`migrations/NNNN_name.sql`), applied on open in one IMMEDIATE
 * transaction so two processes opening a new file at once cannot both apply one.
 */
import type Database from 'better-sqlite3';
import { loadMigrations } from '../migrations.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

export const sqliteMigrations = () => loadMigrations(MIGRATIONS_DIR);

/** Applies the migrations this database has not seen; returns the versions applied. */
export function migrateSqlite(db: Database.Database): number[] {
  const migrations = sqliteMigrations();
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  // IMMEDIATE takes the write lock before reading the version, so a concurrent opener waits
  // here and then sees our rows instead of applying the same migration twice.
  const apply = db.transaction(() => {
    const done = new Set(
      (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
        (r) => r.version,
      ),
    );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
      applied.push(m.version);
    }
    return applied;
  });
  return apply.immediate();
}
