/**
 * @module pg-prepared
 * Server-side prepared statements for the texts a transaction sends as one round trip
 * (see pg-tx.ts). Those texts travel as literal SQL, so each statement in them is parsed
 * and planned again on every run; for the hot ones (the claim, the batch lock, the batch
 * UPDATE of items) that was a third to a half of their cost. A statement registered here
 * is sent as `EXECUTE name(literals)` instead, with a `PREPARE name AS …` in front of it
 * the first time a connection runs it.
 *
 * PREPARE is not undone by ROLLBACK, and a text that fails part-way may or may not have
 * run its PREPAREs. So after such a failure the connection's statements take new names
 * (a new generation): the old ones, if they exist, are never named again and go with
 * the connection.
 */
import { inlineSql, sqlLiteral } from './pg-sql.js';

/** A statement with `$n` placeholders and the values that fill them. */
export interface Bound {
  readonly text: string;
  readonly values: readonly unknown[];
}

/** A statement ready for a multi-statement text: literal SQL, or bound values. */
export type Statement = string | Bound;

/** Statement texts worth preparing, with their numbers (their names are made from them). */
const numbers = new Map<string, number>();

/**
 * How many texts may be marked: a connection keeps what it prepared until it closes, so a
 * caller that made texts without end (it should not) would have them sent as literal SQL
 * beyond this, not fill the server's memory.
 */
const MAX_PREPARABLE = 256;

/**
 * Marks `text` for server-side preparation and returns it. Only for fixed texts whose
 * every `$n` has a type the server can infer (a cast, or a comparison with a column).
 */
export function preparable(text: string): string {
  if (!numbers.has(text) && numbers.size < MAX_PREPARABLE) numbers.set(text, numbers.size);
  return text;
}

/** What one connection has prepared. */
interface Session {
  generation: number;
  prepared: Set<string>;
}

/** Keyed by the connection object: a connection that is closed takes its entry with it. */
const sessions = new WeakMap<object, Session>();

/** The statements of one text, rendered for one connection. */
export interface Rendered {
  /** PREPAREs the connection needs first (they go at the head of the transaction). */
  prepares: string[];
  /** One SQL statement per input statement, in order. */
  statements: string[];
  /** Call once the text ran: the connection now holds the prepared statements. */
  ran(): void;
  /** Call when the text failed: its PREPAREs may or may not have run. */
  failed(): void;
}

/**
 * Forgets what `connection` prepared: its statements take new names from now on. For a
 * prepared statement the server refuses to run again (its table changed under it: another
 * process migrated), so that the transaction can simply run again.
 */
export function forgetPrepared(connection: object): void {
  const s = sessions.get(connection);
  if (!s) return;
  s.generation++;
  s.prepared.clear();
}

/** Renders `statements` for `connection`: literal SQL, or EXECUTE of a prepared statement. */
export function render(connection: object, statements: readonly Statement[]): Rendered {
  let session = sessions.get(connection);
  if (!session) sessions.set(connection, (session = { generation: 0, prepared: new Set() }));
  const s = session;
  const fresh = new Map<string, string>();
  const out = statements.map((st) => {
    if (typeof st === 'string') return st;
    const n = numbers.get(st.text);
    if (n === undefined) return inlineSql(st.text, st.values);
    const name = `cvp${s.generation}_${n}`;
    if (!s.prepared.has(name) && !fresh.has(name)) fresh.set(name, `PREPARE ${name} AS ${st.text}`);
    return `EXECUTE ${name}(${st.values.map(sqlLiteral).join(', ')})`;
  });
  return {
    prepares: [...fresh.values()],
    statements: out,
    ran: () => {
      for (const name of fresh.keys()) s.prepared.add(name);
    },
    failed: () => {
      if (fresh.size > 0) forgetPrepared(connection);
    },
  };
}
