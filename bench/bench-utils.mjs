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
