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
import { preparable, type Bound, type Statement } from './pg-prepared.js';
import { sqlLiteral } from './pg-sql.js';

/** Every column of a new item but `seq`, with its SQL type (of the array that carries it). */
const ITEM_COLUMN_TYPES = {
  id: 'text',
  tenant: 'text',
  queue: 'text',
  type: 'text',
  name: 'text',
  retry_of: 'text',
  payload: 'text',
  status: 'text',
  priority: 'int4',
  required_caps: 'text',
  dependencies: 'text',
  max_duration_ms: 'int8',
  max_retries: 'int4',
  backoff: 'text',
  budget: 'text',
  usage: 'text',
  idempotency_key: 'text',
  webhook_url: 'text',
  workflow_id: 'text',
  step_id: 'text',
  map_index: 'int4',
  policies: 'text',
  progress: 'float8',
  progress_message: 'text',
  attempts: 'int4',
  retries: 'int4',
  output: 'text',
  error: 'text',
  executor_id: 'text',
  created_at: 'int8',
  assigned_at: 'int8',
  started_at: 'int8',
  finished_at: 'int8',
  run_at: 'int8',
  deadline_at: 'int8',
  receipt_seq: 'int4',
  receipt_hash: 'text',
  lease_token: 'int8',
  lease_expires_at: 'int8',
  unfinished_deps: 'int4',
} as const satisfies Record<keyof Omit<ItemRow, 'seq'>, string>;
const ITEM_COLUMNS = Object.keys(ITEM_COLUMN_TYPES) as (keyof typeof ITEM_COLUMN_TYPES)[];

// Purpose: new items from parallel arrays, one per column; WITH ORDINALITY … ORDER BY
// inserts them in the order given, which their seqs follow. $1…: ITEM_COLUMNS in order.
const INSERT_ITEMS_SQL = preparable(
  `INSERT INTO items (${ITEM_COLUMNS.join(', ')})
   SELECT ${ITEM_COLUMNS.join(', ')}
     FROM unnest(${ITEM_COLUMNS.map((c, k) => `$${k + 1}::${ITEM_COLUMN_TYPES[c]}[]`).join(', ')})
          WITH ORDINALITY AS v(${ITEM_COLUMNS.join(', ')}, n)
    ORDER BY n`,
);

/**
 * The columns a transition may set, with their SQL types (of the arrays that carry them)
 * and the record fields they store.
 */
const UPDATE_COLUMNS = [
  ['status', 'text', 'status'],
  ['type', 'text', 'type'],
  ['payload', 'text', 'payload'],
  ['policies', 'text', 'policies'],
  ['usage', 'text', 'usage'],
  ['progress', 'float8', 'progress'],
  ['progress_message', 'text', 'progressMessage'],
  ['attempts', 'int4', 'attempts'],
  ['retries', 'int4', 'retries'],
  ['output', 'text', 'output'],
  ['error', 'text', 'error'],
  ['executor_id', 'text', 'executorId'],
  ['assigned_at', 'int8', 'assignedAt'],
  ['started_at', 'int8', 'startedAt'],
  ['finished_at', 'int8', 'finishedAt'],
  ['run_at', 'int8', 'runAt'],
  ['deadline_at', 'int8', 'deadlineAt'],
  ['receipt_seq', 'int4', 'receiptSeq'],
  ['receipt_hash', 'text', 'receiptHash'],
  ['lease_token', 'int8', 'leaseToken'],
  ['lease_expires_at', 'int8', 'leaseExpiresAt'],
] as const satisfies ReadonlyArray<readonly [keyof ItemRow, string, keyof ItemRecord]>;

const tuple = (values: readonly unknown[]) => `(${values.map(sqlLiteral).join(', ')})`;

/** New items in one INSERT (seq follows their order), then their dependency edges. */
export function insertItemsSql(items: readonly ItemRecord[]): Statement[] {
  const rows = items.map(toInsertParams);
  const out: Statement[] = [
    { text: INSERT_ITEMS_SQL, values: ITEM_COLUMNS.map((c) => rows.map((p) => p[c])) },
  ];
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

/**
 * Items whose whole new state is known, in one statement, or none if nothing changed. A
 * field counts as changed unless it is the very value stored (records are never changed in
 * place: a field that was not touched is the same value, the same object for JSON), so
 * only the new states are encoded.
 */
export function updateItemsSql(changes: readonly ItemChange[]): Bound | null {
  const columns = UPDATE_COLUMNS.filter(([, , field]) =>
    changes.some((c) => c.stored === undefined || c.stored[field] !== c.now[field]),
  );
  if (columns.length === 0) return null;
  const rows = changes.map((c) => toInsertParams(c.now));
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
const WAKE_SQL = preparable(`WITH woken AS (
    DELETE FROM waiters WHERE id IN (
      SELECT id FROM waiters
       WHERE expires_at > $5 AND (types IS NULL OR $1 = ANY(types))
         AND (queues IS NULL OR $2 = ANY(queues)) AND caps @> $3::text[]
       ORDER BY since LIMIT $4 FOR UPDATE SKIP LOCKED)
    RETURNING id, channel)
  SELECT pg_notify(channel, id) FROM woken`);

export const wakeSql = (kind: WorkKind, now: number): Bound => ({
  text: WAKE_SQL,
  values: [kind.type, kind.queue, [...kind.capabilities], kind.count, now],
});

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
