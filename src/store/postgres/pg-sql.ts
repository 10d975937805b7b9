/**
 * @module pg-sql
 * The small layer over node-postgres the store's modules share: a query function that
 * prepares each fixed statement once per connection (named statements), the type parsers
 * (bigint columns hold epoch milliseconds and counts, well inside 2^53, so they come back
 * as numbers) and how to tell a retryable database error from a final one.
 */
import pg from 'pg';

/** Runs one statement and returns its rows. */
export type Query = <R = Record<string, unknown>>(text: string, values?: readonly unknown[]) => Promise<R[]>;

const INT8_OID = 20;

/** Type parsers for our pools only (pg's global parsers stay untouched for the app's own use). */
export const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8_OID) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
} as const;

const names = new Map<string, string>();
/** Texts named again (see queryOn), numbered apart from the first names. */
let renamed = 0;

/**
 * A named (prepared) statement per distinct text: parsed and planned once per connection.
 * Only for fixed statements; a text built from a filter gets its own name per shape.
 */
function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `cv_${names.size}`;
    names.set(text, name);
  }
  return name;
}

/**
 * A Query over anything with node-postgres' `query` (a pool or a checked-out client). A
 * statement the server will no longer run as prepared (its table changed: see
 * `isStalePlan`) gets a new name, which every connection prepares again, and runs again.
 */
export function queryOn(target: pg.Pool | pg.PoolClient | pg.Client): Query {
  const run = <R>(text: string, values: readonly unknown[]) =>
    target.query<R & pg.QueryResultRow>({ name: statementName(text), text, values: values as unknown[] });
  return async <R>(text: string, values: readonly unknown[] = []) => {
    try {
      return (await run<R>(text, values)).rows as R[];
    } catch (e) {
      if (!isStalePlan(e)) throw e;
      names.set(text, `cv_r${renamed++}`);
      return (await run<R>(text, values)).rows as R[];
    }
  };
}

/** SQLSTATE of a pg error, if it has one. */
export const sqlState = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;

/**
 * Errors after which the whole transaction may simply run again: a deadlock, a
 * serialization failure, or two transactions racing to insert the same idempotency key
 * (the second run finds the first one's item).
 */
export function isRetryableTxError(e: unknown): boolean {
  const code = sqlState(e);
  if (code === '40P01' || code === '40001' || isStalePlan(e)) return true;
  return code === '23505' && (e as { constraint?: string }).constraint === 'items_idempotency';
}

/**
 * A prepared statement whose result columns changed since it was prepared (another process
 * migrated the table): the server will not run it again, and the transaction is rolled
 * back. Preparing it again (see forgetPrepared) and running the transaction again succeeds.
 */
export const isStalePlan = (e: unknown): boolean =>
  sqlState(e) === '0A000' && e instanceof Error && /cached plan must not change result type/.test(e.message);

/**
 * Errors that mean "no connection" (server down, restarting, network): nothing ran, so
 * connecting again later is safe.
 */
export function isConnectionError(e: unknown): boolean {
  const code = sqlState(e);
  // node-postgres reports a socket that closed mid-query without a code.
  if (code === undefined)
    return e instanceof Error && /Connection terminated|connection timeout|not queryable/i.test(e.message);
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN'].includes(code) ||
    code.startsWith('08') || // connection exception
    code === '57P01' || // admin shutdown
    code === '57P02' || // crash shutdown
    code === '57P03' // cannot connect now (starting up)
  );
}

/** Schema names are spliced into SQL (search_path, CREATE SCHEMA): only plain identifiers pass. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A value as an SQL literal, for statements sent as text (see `inlineSql`). Strings are
 * quoted as node-postgres' `escapeLiteral` does (an `E''` string when they hold a
 * backslash), arrays become array literals, so the result never needs parameters.
 */
export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `'${String(v)}'`;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'string') return quote(v);
  if (Array.isArray(v)) return quote(`{${v.map(arrayElement).join(',')}}`);
  return quote(JSON.stringify(v));
}

function quote(s: string): string {
  const body = s.replace(/'/g, "''");
  return s.includes('\\') ? ` E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

function arrayElement(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  // Numbers and booleans print the same as JSON; objects become their JSON text.
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The statement with its `$n` placeholders replaced by literals, in one pass (so a value
 * that itself contains `$1` is never substituted again). Only for our own statement texts,
 * which hold no `$` elsewhere. What lets a transaction send many statements in one round trip.
 */
export const inlineSql = (text: string, values: readonly unknown[]): string =>
  text.replace(/\$(\d+)/g, (_, n: string) => sqlLiteral(values[Number(n) - 1]));
