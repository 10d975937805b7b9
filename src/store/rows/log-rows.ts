/**
 * @module log-rows
 * Rows of the receipts, events, executors and item_logs tables, and their mapping to the
 * engine's records. Both backends store the same columns (JSON as text, times as epoch
 * milliseconds), so one mapping serves both.
 */
import type { ItemError } from '../../core/errors.js';
import type { ReceiptStatus } from '../../core/item-state.js';
import type { JsonValue, Receipt } from '../../core/types.js';
import type { EventRecord, ExecutorRecord, LogRecord } from '../records.js';

export interface ReceiptRow {
  item_id: string;
  seq: number;
  id: string;
  status: string;
  timestamp_iso: string;
  executor_id: string | null;
  progress: number;
  output: string | null;
  error: string | null;
  retry_count: number;
  previous_hash: string | null;
  receipt_hash: string;
}

export const toReceipt = (r: ReceiptRow): Receipt => ({
  id: r.id,
  itemId: r.item_id,
  seq: r.seq,
  status: r.status as ReceiptStatus,
  timestamp_iso: r.timestamp_iso,
  executorId: r.executor_id,
  progress: r.progress,
  output: r.output === null ? null : (JSON.parse(r.output) as JsonValue),
  error: r.error === null ? null : (JSON.parse(r.error) as ItemError),
  retryCount: r.retry_count,
  previousReceiptHash: r.previous_hash,
  receiptHash: r.receipt_hash,
});

/** The INSERT parameters of a receipt, in RECEIPT_COLUMNS order. */
export const RECEIPT_COLUMNS = [
  'item_id',
  'seq',
  'id',
  'status',
  'timestamp_iso',
  'executor_id',
  'progress',
  'output',
  'error',
  'retry_count',
  'previous_hash',
  'receipt_hash',
] as const;

export const receiptParams = (r: Receipt): unknown[] => [
  r.itemId,
  r.seq,
  r.id,
  r.status,
  r.timestamp_iso,
  r.executorId,
  r.progress,
  r.output === null ? null : JSON.stringify(r.output),
  r.error === null ? null : JSON.stringify(r.error),
  r.retryCount,
  r.previousReceiptHash,
  r.receiptHash,
];

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
