/**
 * @module pg-write-sql
 * The statements a PostgreSQL transaction sends for its held-back writes (see pg-tx.ts),
 * as literal SQL: each takes rows and returns text with no parameters, so that many of them
 * travel in one round trip.
 */
import type { ItemRecord, NewEvent } from '../records.js';
import { toInsertParams, type ItemRow } from '../rows/item-rows.js';
import { EVENT_INSERT_COLUMNS, eventParams } from '../rows/log-rows.js';
import type { WorkKind } from '../store.js';
import { preparable, type Bound } from './pg-prepared.js';
import { inlineSql, sqlLiteral } from './pg-sql.js';

const ITEM_COLUMNS = Object.keys(toInsertParams({} as ItemRecord)) as (keyof Omit<ItemRow, 'seq'>)[];

/** The columns a transition may set, with their SQL types (of the arrays that carry them). */
const UPDATE_COLUMNS = [
  ['status', 'text'],
  ['type', 'text'],
  ['payload', 'text'],
  ['policies', 'text'],
  ['usage', 'text'],
  ['progress', 'float8'],
  ['progress_message', 'text'],
  ['attempts', 'int4'],
  ['retries', 'int4'],
  ['output', 'text'],
  ['error', 'text'],
  ['executor_id', 'text'],
  ['assigned_at', 'int8'],
  ['started_at', 'int8'],
  ['finished_at', 'int8'],
  ['run_at', 'int8'],
  ['deadline_at', 'int8'],
  ['receipt_seq', 'int4'],
  ['receipt_hash', 'text'],
  ['lease_token', 'int8'],
  ['lease_expires_at', 'int8'],
] as const satisfies ReadonlyArray<readonly [keyof ItemRow, string]>;

const tuple = (values: readonly unknown[]) => `(${values.map(sqlLiteral).join(', ')})`;

/** New items in one multi-row INSERT (seq follows their order), then their dependency edges. */
export function insertItemsSql(items: readonly ItemRecord[]): string[] {
  const rows = items.map((item) => {
    const p = toInsertParams(item);
    return tuple(ITEM_COLUMNS.map((c) => p[c]));
  });
  const out = [`INSERT INTO items (${ITEM_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`];
  const edges = items.flatMap((item) => item.dependencies.map((d) => tuple([item.id, d])));
  if (edges.length > 0)
    out.push(
      `INSERT INTO item_deps (item_id, depends_on_id) VALUES ${edges.join(', ')} ON CONFLICT DO NOTHING`,
    );
  return out;
}

type UpdateColumn = (typeof UPDATE_COLUMNS)[number];

/** The statement for one set of columns, made once per set. */
const updateTexts = new Map<string, string>();

// Purpose: items whose whole new state is known, in one UPDATE from parallel arrays, one
// per column that changed in any of them (an item whose value did not change gets it again):
// items that changed in different ways share one statement, and a transition's changes
// make the same column set each time, so the text is prepared once per connection and
// the columns that stay (a payload) are not sent back to the server.
// $1: ids; $2…: the columns, in UPDATE_COLUMNS order.
function updateItemsText(columns: readonly UpdateColumn[]): string {
  const key = columns.map(([c]) => c).join(',');
  let text = updateTexts.get(key);
  if (!text) {
    text = preparable(
      `UPDATE items AS i SET ${columns.map(([c]) => `${c} = v.${c}`).join(', ')}
         FROM unnest($1::text[], ${columns.map(([, type], k) => `$${k + 2}::${type}[]`).join(', ')})
           AS v(id, ${key.replace(/,/g, ', ')})
        WHERE i.id = v.id`,
    );
    updateTexts.set(key, text);
  }
  return text;
}

/** An item's new state, and the state stored now if known (else every column is written). */
export interface ItemChange {
  now: ItemRecord;
  stored: ItemRecord | undefined;
}

/** Items whose whole new state is known, in one statement, or none if nothing changed. */
export function updateItemsSql(changes: readonly ItemChange[]): Bound | null {
  const rows = changes.map((c) => toInsertParams(c.now));
  const before = changes.map((c) => (c.stored ? toInsertParams(c.stored) : undefined));
  const columns = UPDATE_COLUMNS.filter(([c]) => rows.some((p, k) => before[k]?.[c] !== p[c]));
  if (columns.length === 0) return null;
  return {
    text: updateItemsText(columns),
    values: [changes.map((c) => c.now.id), ...columns.map(([c]) => rows.map((p) => p[c]))],
  };
}

/** Some columns of one item (a row the transaction never read, so its whole state is unknown). */
export function updateColumnsSql(id: string, columns: ReadonlyMap<string, unknown>): string {
  const sets = [...columns].map(([c, v]) => `${c} = ${sqlLiteral(v)}`);
  return `UPDATE items SET ${sets.join(', ')} WHERE id = ${sqlLiteral(id)}`;
}

// Purpose: wake, at commit, up to $4 registered idle claimers that could take newly queued
// work of type $1, queue $2 and required capabilities $3 (registrations alive at $5): their
// registrations are removed and each gets one NOTIFY on its store's channel.
const WAKE_SQL = `WITH woken AS (
    DELETE FROM waiters WHERE id IN (
      SELECT id FROM waiters
       WHERE expires_at > $5 AND (types IS NULL OR $1 = ANY(types))
         AND (queues IS NULL OR $2 = ANY(queues)) AND caps @> $3::text[]
       ORDER BY since LIMIT $4 FOR UPDATE SKIP LOCKED)
    RETURNING id, channel)
  SELECT pg_notify(channel, id) FROM woken`;

export const wakeSql = (kind: WorkKind, now: number): string =>
  inlineSql(WAKE_SQL, [kind.type, kind.queue, [...kind.capabilities], kind.count, now]);

/**
 * Events (with the receipts of the transitions among them) appended under the log's
 * advisory lock (held to COMMIT: seqs follow commit order), in one multi-row INSERT whose
 * order gives their seqs.
 */
export function appendEventsSql(events: readonly NewEvent[], lockKey: string): string[] {
  const rows = events.map((e) => tuple(eventParams(e)));
  return [
    `SELECT pg_advisory_xact_lock(hashtextextended(${sqlLiteral(lockKey)}, 0))`,
    `INSERT INTO events (${EVENT_INSERT_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`,
  ];
}
