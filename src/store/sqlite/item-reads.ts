/**
 * @module item-reads
 * Item rows read in better-sqlite3's raw mode (each row an array) and named here. The
 * driver builds its own row objects one property at a time through the C++ API; with ~40
 * columns that costs more than the read itself (measured: a row by id in ~13 µs as an
 * object, ~8 µs as an array), and every claim, completion and dependency countdown reads
 * rows. Statements select the columns by name, in `ITEM_READ_COLUMNS` order, so the
 * table's own column order (which migrations append to) does not matter.
 */
import type Database from 'better-sqlite3';
import type { ItemRecord } from '../records.js';
import { toInsertParams, type ItemRow } from '../rows/item-rows.js';

/** Every column of an item row: `seq`, then what an insert writes. */
export const ITEM_READ_COLUMNS = [
  'seq',
  ...Object.keys(toInsertParams({} as ItemRecord)),
] as (keyof ItemRow)[];

/** `SELECT <every item column>`: the start of every item read. */
export const SELECT_ITEM = `SELECT ${ITEM_READ_COLUMNS.join(', ')}`;

const position = Object.fromEntries(ITEM_READ_COLUMNS.map((c, i) => [c, i])) as Record<keyof ItemRow, number>;
const at = <K extends keyof ItemRow>(a: readonly unknown[], k: K): ItemRow[K] => a[position[k]] as ItemRow[K];

/** The row an array read by a `SELECT_ITEM` statement stands for (one literal: a fixed shape). */
export function itemRowOf(a: readonly unknown[]): ItemRow {
  return {
    seq: at(a, 'seq'),
    id: at(a, 'id'),
    tenant: at(a, 'tenant'),
    queue: at(a, 'queue'),
    type: at(a, 'type'),
    name: at(a, 'name'),
    retry_of: at(a, 'retry_of'),
    payload: at(a, 'payload'),
    status: at(a, 'status'),
    priority: at(a, 'priority'),
    required_caps: at(a, 'required_caps'),
    dependencies: at(a, 'dependencies'),
    max_duration_ms: at(a, 'max_duration_ms'),
    max_retries: at(a, 'max_retries'),
    backoff: at(a, 'backoff'),
    budget: at(a, 'budget'),
    usage: at(a, 'usage'),
    idempotency_key: at(a, 'idempotency_key'),
    webhook_url: at(a, 'webhook_url'),
    workflow_id: at(a, 'workflow_id'),
    step_id: at(a, 'step_id'),
    map_index: at(a, 'map_index'),
    policies: at(a, 'policies'),
    progress: at(a, 'progress'),
    progress_message: at(a, 'progress_message'),
    attempts: at(a, 'attempts'),
    retries: at(a, 'retries'),
    output: at(a, 'output'),
    error: at(a, 'error'),
    executor_id: at(a, 'executor_id'),
    created_at: at(a, 'created_at'),
    assigned_at: at(a, 'assigned_at'),
    started_at: at(a, 'started_at'),
    finished_at: at(a, 'finished_at'),
    run_at: at(a, 'run_at'),
    deadline_at: at(a, 'deadline_at'),
    receipt_seq: at(a, 'receipt_seq'),
    receipt_hash: at(a, 'receipt_hash'),
    lease_token: at(a, 'lease_token'),
    lease_expires_at: at(a, 'lease_expires_at'),
    unfinished_deps: at(a, 'unfinished_deps'),
  };
}

/** A prepared item read: `get`/`all` as better-sqlite3's, returning named rows. */
export interface ItemRead<P extends unknown[]> {
  get(...params: P): ItemRow | undefined;
  all(...params: P): ItemRow[];
}

/** Prepares `SELECT_ITEM <rest>` in raw mode; `rest` starts with `FROM items`. */
export function prepareItemRead<P extends unknown[]>(db: Database.Database, rest: string): ItemRead<P> {
  const stmt = db.prepare<P, unknown[]>(`${SELECT_ITEM} ${rest}`).raw(true);
  return {
    get: (...params) => {
      const a = stmt.get(...params);
      return a === undefined ? undefined : itemRowOf(a);
    },
    all: (...params) => stmt.all(...params).map(itemRowOf),
  };
}

/** Item reads whose SQL depends on the filter: each distinct text prepared once. */
export function createItemReadCache(
  db: Database.Database,
): (rest: string) => ItemRead<[Record<string, unknown>]> {
  const cache = new Map<string, ItemRead<[Record<string, unknown>]>>();
  return (rest) => {
    let read = cache.get(rest);
    if (!read) {
      read = prepareItemRead(db, rest);
      cache.set(rest, read);
    }
    return read;
  };
}
