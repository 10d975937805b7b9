// Small helpers the benchmark scripts share.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A run id: the UTC time as 20261202T172400Z, or RUN_ID when set. */
export const runId = (env = process.env) =>
  env.RUN_ID ||
  new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** Runs one statement on a fresh connection to `url` and returns its rows. */
export async function pgQuery(url, sql) {
  const pg = require('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/**
 * The catalogs of a database whose server runs with autovacuum off (as this machine's does)
 * keep every dead row the test suites leave: each test file creates and drops schemas, and
 * after a few full runs pg_attribute held a million dead rows (160 MB). A benchmark on such a
 * database measures the bloat (the drain ran at 1,752/s, 2,274-2,312/s right after a
 * VACUUM of its catalogs). This vacuums them when autovacuum is off; returns what it did.
 */
export async function vacuumCatalogsIfNeeded(url) {
  const [{ autovacuum }] = await pgQuery(url, 'SHOW autovacuum');
  if (autovacuum === 'on') return 'autovacuum on: catalogs left to it';
  const catalogs = ['pg_attribute', 'pg_class', 'pg_depend', 'pg_index', 'pg_type', 'pg_constraint'];
  const [{ dead }] = await pgQuery(
    url,
    `SELECT coalesce(sum(n_dead_tup), 0)::bigint AS dead FROM pg_stat_sys_tables
      WHERE relname IN (${catalogs.map((c) => `'${c}'`).join(', ')})`,
  );
  await pgQuery(url, `VACUUM (ANALYZE) ${catalogs.map((c) => `pg_catalog.${c}`).join(', ')}`);
  return `autovacuum off: vacuumed the catalogs (${dead} dead rows)`;
}
