/**
 * @module log-rows
 * Rows of the event log, executors and item_logs tables, and their mapping to the engine's
 * records. Both backends store the same columns (JSON as text, times as epoch
 * milliseconds), so one mapping serves both.
 *
 * A transition's receipt is stored in the row of the event that records the transition
 * (the `receipt_*` columns; NULL on events that are not transitions): one row per
 * transition instead of two, and an item's chain is its events that carry a receipt, in
 * log order.
 */
import type { ItemError } from '../../core/errors.js';
import type { ReceiptStatus } from '../../core/item-state.js';
import type { JsonValue, Receipt } from '../../core/types.js';
import type { EventRecord, ExecutorRecord, LogRecord, NewEvent } from '../records.js';

/** An event row's receipt columns (all NULL on an event without a receipt), with its item. */
export interface ReceiptRow {
  item_id: string;
  receipt_seq: number;
  receipt_id: string;
  receipt_status: string;
  receipt_timestamp: string;
  receipt_executor_id: string | null;
  receipt_progress: number;
  receipt_output: string | null;
  receipt_error: string | null;
  receipt_retry_count: number;
  receipt_previous_hash: string | null;
  receipt_hash: string;
}

export const toReceipt = (r: ReceiptRow): Receipt => ({
  id: r.receipt_id,
  itemId: r.item_id,
  seq: r.receipt_seq,
  status: r.receipt_status as ReceiptStatus,
  timestamp_iso: r.receipt_timestamp,
  executorId: r.receipt_executor_id,
  progress: r.receipt_progress,
  output: r.receipt_output === null ? null : (JSON.parse(r.receipt_output) as JsonValue),
  error: r.receipt_error === null ? null : (JSON.parse(r.receipt_error) as ItemError),
  retryCount: r.receipt_retry_count,
  previousReceiptHash: r.receipt_previous_hash,
  receiptHash: r.receipt_hash,
});

/** The receipt columns of the events table, in `eventParams` order after the event's own. */
export const RECEIPT_COLUMNS = [
  'receipt_seq',
  'receipt_id',
  'receipt_status',
  'receipt_timestamp',
  'receipt_executor_id',
  'receipt_progress',
  'receipt_output',
  'receipt_error',
  'receipt_retry_count',
  'receipt_previous_hash',
  'receipt_hash',
] as const;

/** `SELECT` list of an item's receipts: the item and the receipt columns. */
export const RECEIPT_SELECT = `item_id, ${RECEIPT_COLUMNS.join(', ')}`;

/** The columns an event read returns (not the receipt ones: subscribers do not need them). */
export const EVENT_SELECT = 'seq, type, at, tenant, item_id, workflow_id, data';

/** The columns of an event insert, in `eventParams` order. */
export const EVENT_INSERT_COLUMNS = [
  'type',
  'at',
  'tenant',
  'item_id',
  'workflow_id',
  'data',
  ...RECEIPT_COLUMNS,
];

/**
 * The INSERT parameters of an event and its receipt, in EVENT_INSERT_COLUMNS order. One
 * array literal: this runs for every transition, twice per drained item.
 */
export function eventParams(e: NewEvent): unknown[] {
  const r = e.receipt;
  return [
    e.type,
    e.at,
    e.tenant,
    e.itemId,
    e.workflowId,
    JSON.stringify(e.data),
    r ? r.seq : null,
    r ? r.id : null,
    r ? r.status : null,
    r ? r.timestamp_iso : null,
    r ? r.executorId : null,
    r ? r.progress : null,
    r && r.output !== null ? JSON.stringify(r.output) : null,
    r && r.error !== null ? JSON.stringify(r.error) : null,
    r ? r.retryCount : null,
    r ? r.previousReceiptHash : null,
    r ? r.receiptHash : null,
  ];
}

export interface EventRow {
  seq: number;
  type: string;
  at: number;
  tenant: string;
  item_id: string | null;
  workflow_id: string | null;
  data: string;
}

export const toEvent = (r: EventRow): EventRecord => ({
  seq: r.seq,
  type: r.type,
  at: r.at,
  tenant: r.tenant,
  itemId: r.item_id,
  workflowId: r.workflow_id,
  data: JSON.parse(r.data) as Record<string, unknown>,
});

export interface ExecutorRow {
  id: string;
  capabilities: string;
  concurrency: number;
  busy: number;
  registered_at: number;
  last_seen_at: number;
}

export const toExecutor = (r: ExecutorRow): ExecutorRecord => ({
  id: r.id,
  capabilities: JSON.parse(r.capabilities) as string[],
  concurrency: r.concurrency,
  busy: r.busy === 1,
  registeredAt: r.registered_at,
  lastSeenAt: r.last_seen_at,
});

export const executorParams = (e: ExecutorRecord): ExecutorRow => ({
  id: e.id,
  capabilities: JSON.stringify(e.capabilities),
  concurrency: e.concurrency,
  busy: e.busy ? 1 : 0,
  registered_at: e.registeredAt,
  last_seen_at: e.lastSeenAt,
});

export interface LogRow {
  seq: number;
  item_id: string;
  attempt: number;
  at: number;
  message: string;
}

export const toLog = (r: LogRow): LogRecord => ({
  seq: r.seq,
  itemId: r.item_id,
  attempt: r.attempt,
  at: r.at,
  message: r.message,
});
