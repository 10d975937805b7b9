/**
 * Server-side prepared statements in the texts a PostgreSQL transaction sends (see
 * src/store/postgres/pg-prepared.ts), against the real server: a statement is prepared
 * once per connection, values of every kind reach it unchanged, and a text that fails
 * after its PREPARE ran (PREPARE outlives the ROLLBACK) leaves the connection usable.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { preparable, render, type Statement } from '../../src/store/postgres/pg-prepared.js';
import { PG_URL, requirePostgres } from '../helpers/backends.js';

const available = await requirePostgres('pg-prepared.test.ts');

const ECHO = preparable('SELECT $1::text AS s, $2::text[] AS a, $3::int8 AS n, $4::float8[] AS f');

let clients: pg.Client[] = [];
afterEach(async () => {
  for (const c of clients) await c.end();
  clients = [];
});

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  clients.push(c);
  return c;
}

/** Sends `statements` as one text, as PgTx does; returns the last statement's rows. */
async function run(client: pg.Client, statements: Statement[]): Promise<Record<string, unknown>[]> {
  const r = render(client, statements);
  try {
    const result = (await client.query([...r.prepares, ...r.statements].join(';\n'))) as unknown as
      pg.QueryResult | pg.QueryResult[];
    r.ran();
    return (Array.isArray(result) ? result.at(-1)! : result).rows as Record<string, unknown>[];
  } catch (e) {
    r.failed();
    throw e;
  }
}

const prepared = async (client: pg.Client) =>
  (await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map(
    (r) => r.name,
  );

describe.skipIf(!available)('prepared statements in a transaction text', () => {
  it('are prepared once per connection, then executed with the values as literals', async () => {
    const client = await connect();
    const values = ['it\'s \\ $1 "q"', ['a,b', "c'd", 'e\\f', null], 2 ** 40, [1.5e-7, 2.5]];
    for (let i = 0; i < 3; i++) {
      const rows = await run(client, [{ text: ECHO, values }]);
      expect(rows).toEqual([{ s: values[0], a: values[1], n: String(2 ** 40), f: [1.5e-7, 2.5] }]);
    }
    expect(await prepared(client)).toHaveLength(1);
    // Another connection prepares its own.
    const other = await connect();
    expect(render(other, [{ text: ECHO, values }]).prepares).toHaveLength(1);
    expect(render(client, [{ text: ECHO, values }]).prepares).toEqual([]);
  });

  it('a text that fails after its PREPARE ran leaves the connection able to run it again', async () => {
    const client = await connect();
    const values = ['x', [], 1, []];
    await expect(run(client, ['BEGIN', { text: ECHO, values }, 'SELECT 1 / 0'])).rejects.toThrow(
      /division by zero/,
    );
    await client.query('ROLLBACK');
    // The PREPARE outlived the ROLLBACK; preparing that name again would fail for good.
    expect(await prepared(client)).toHaveLength(1);
    for (let i = 0; i < 2; i++)
      expect(await run(client, ['BEGIN', { text: ECHO, values }, 'COMMIT'])).toEqual([]);
    expect(await run(client, [{ text: ECHO, values }])).toEqual([{ s: 'x', a: [], n: '1', f: [] }]);
    expect(await prepared(client)).toHaveLength(2);
  });

  it('a statement not marked preparable is sent as literal SQL', () => {
    const r = render({}, [{ text: 'SELECT $1::text', values: ["it's"] }]);
    expect(r.prepares).toEqual([]);
    expect(r.statements).toEqual(["SELECT 'it''s'::text"]);
  });
});
