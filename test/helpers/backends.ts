/**
 * The two backends the conformance suite runs against. Each `open()` gives a Conveyor on a
 * database of its own (a temp SQLite file, or a fresh PostgreSQL schema dropped on close),
 * so test files and tests run in parallel without seeing each other.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createConveyor, type Conveyor, type ConveyorOptions } from '../../src/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { openTestConveyor, tempDir, trackConveyor } from './conveyors.js';
import { requireService } from './services.js';

export interface TestBackend {
  readonly name: 'sqlite' | 'postgres';
  /** A Conveyor on a new, empty database of its own. */
  open(options?: ConveyorOptions): Promise<Conveyor>;
  /** Another Conveyor on `cv`'s database, as another process would open it. */
  openSibling(cv: Conveyor, options?: ConveyorOptions): Promise<Conveyor>;
  /** Runs one SQL statement on a second connection to `cv`'s database (`?` placeholders). */
  exec(cv: Conveyor, sql: string, ...params: unknown[]): Promise<void>;
  /**
   * Statements that make every insert of a receipt (an event that carries one) fail with
   * `message` (to test store errors).
   */
  refuseReceiptsSql(message: string): string[];
}

/** Where each open Conveyor lives. */
const homes = new WeakMap<Conveyor, { database: string; schema?: string }>();

export const sqliteBackend: TestBackend = {
  name: 'sqlite',
  async open(options = {}) {
    const database = join(tempDir(), 'conveyor.db');
    const cv = await openTestConveyor({ database, ...options });
    homes.set(cv, { database });
    return cv;
  },
  async openSibling(cv, options = {}) {
    const home = homes.get(cv)!;
    const other = await openTestConveyor({ database: home.database, ...options });
    homes.set(other, home);
    return other;
  },
  exec(cv, sql, ...params) {
    const db = new Database(homes.get(cv)!.database);
    try {
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
    return Promise.resolve();
  },
  refuseReceiptsSql: (message) => [
    `CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.receipt_seq IS NOT NULL
       BEGIN SELECT RAISE(ABORT, '${message}'); END`,
  ],
};

export const PG_URL = process.env.CONVEYOR_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Numbered `?` placeholders for PostgreSQL. */
const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** True when the test PostgreSQL answers. */
export async function postgresAvailable(): Promise<boolean> {
  try {
    await withPg((c) => c.query('SELECT 1'));
    return true;
  } catch {
    return false;
  }
}

export const postgresBackend: TestBackend = {
  name: 'postgres',
  async open(options = {}) {
    const schema = `cvt_${randomBytes(6).toString('hex')}`;
    const cv = await createConveyor({
      database: PG_URL,
      schema,
      logger: silentLogger,
      changePollMs: 10,
      poolSize: 4,
      ...options,
    });
    homes.set(cv, { database: PG_URL, schema });
    // The first Conveyor on a schema drops it when it closes.
    trackConveyor(cv, () =>
      withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).then(() => undefined),
    );
    return cv;
  },
  async openSibling(cv, options = {}) {
    const home = homes.get(cv)!;
    const other = await createConveyor({
      database: home.database,
      schema: home.schema!,
      logger: silentLogger,
      changePollMs: 10,
      poolSize: 4,
      ...options,
    });
    homes.set(other, home);
    trackConveyor(other);
    return other;
  },
  exec(cv, sql, ...params) {
    const { schema } = homes.get(cv)!;
    return withPg(async (c) => {
      await c.query(`SET search_path TO ${schema!}`);
      await c.query(numbered(sql), params);
    });
  },
  refuseReceiptsSql: (message) => [
    `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message}'; END $$`,
    `CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW
       WHEN (NEW.receipt_seq IS NOT NULL) EXECUTE FUNCTION refuse()`,
  ],
};

/** Whether the PostgreSQL tests of `file` run (see requireService: always in CI, else skipped loudly). */
export function requirePostgres(file: string): Promise<boolean> {
  return requireService(file, 'PostgreSQL', PG_URL, 'CONVEYOR_TEST_PG_URL', postgresAvailable);
}
