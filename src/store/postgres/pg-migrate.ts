/**
 * @module pg-migrate
 * PostgreSQL migrations (`migrations/NNNN_name.sql`), applied on open inside the chosen
 * schema. A session advisory lock keyed by the schema makes processes that start at once
 * take turns: the first applies, the others wait and then find nothing left to do.
 */
import type pg from 'pg';
import { loadMigrations } from '../migrations.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

export const pgMigrations = () => loadMigrations(MIGRATIONS_DIR);

/** Applies the migrations `schema` has not seen, each in its own transaction; returns their versions. */
export async function migratePg(client: pg.PoolClient | pg.Client, schema: string): Promise<number[]> {
  const lockKey = `conveyor:migrate:${schema}`;
  await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`SET search_path TO "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of pgMigrations()) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          m.version,
          m.name,
        ]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
  }
}
