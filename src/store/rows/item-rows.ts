/**
 * @module item-rows
 * The `items` table row and its mapping to `ItemRecord`, both ways.
 */
import type { BackoffPolicy } from '../../core/backoff.js';
import type { ItemError } from '../../core/errors.js';
import type { ItemStatus } from '../../core/item-state.js';
import type { ItemPolicies, JsonValue } from '../../core/types.js';
import type { ItemPatch, ItemRecord } from '../records.js';
import type { StepOutcome } from '../workflow-records.js';

export interface ItemRow {
  seq: number;
  id: string;
  tenant: string;
  queue: string;
  type: string;
  name: string | null;
  retry_of: string | null;
  payload: string;
  status: string;
  priority: number;
  required_caps: string;
  dependencies: string;
  max_duration_ms: number | null;
  max_retries: number;
  backoff: string;
  budget: string | null;
  usage: string;
  idempotency_key: string | null;
  webhook_url: string | null;
  workflow_id: string | null;
  step_id: string | null;
  map_index: number | null;
  policies: string | null;
  progress: number;
  progress_message: string | null;
  attempts: number;
  retries: number;
  output: string | null;
  error: string | null;
  executor_id: string | null;
  created_at: number;
  assigned_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  run_at: number;
  deadline_at: number | null;
  receipt_seq: number;
  receipt_hash: string | null;
  lease_token: number;
  lease_expires_at: number | null;
  unfinished_deps: number;
}

const parse = <T>(text: string): T => {
  // Most list/object columns are empty; skip the parser for them (fresh objects each time,
  // since records are spread and patched by the engine).
  if (text === '[]') return [] as T;
  if (text === '{}') return {} as T;
  return JSON.parse(text) as T;
};

/** Items share a handful of backoff policies: parse each distinct text once. */
const backoffCache = new Map<string, BackoffPolicy>();
function parseBackoff(text: string): BackoffPolicy {
  let policy = backoffCache.get(text);
  if (!policy) {
    policy = Object.freeze(JSON.parse(text) as BackoffPolicy);
    if (backoffCache.size < 1000) backoffCache.set(text, policy);
  }
  return policy;
}
const parseOrNull = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
const json = (v: unknown): string => JSON.stringify(v);
const jsonOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/** A step's outcome from its item's row (or the few columns of it that say it). */
export const toStepOutcome = (r: Pick<ItemRow, 'step_id' | 'status' | 'output' | 'error'>): StepOutcome => ({
  stepId: r.step_id!,
  status: r.status as ItemStatus,
  output: parseOrNull<JsonValue>(r.output),
  error: parseOrNull<ItemError>(r.error),
});

export function toItemRecord(r: ItemRow): ItemRecord {
  return {
    id: r.id,
    tenant: r.tenant,
    queue: r.queue,
    type: r.type,
    name: r.name,
    retryOf: r.retry_of,
    payload: parse<JsonValue>(r.payload),
    status: r.status as ItemStatus,
    priority: r.priority,
    requiredCapabilities: parse<string[]>(r.required_caps),
    dependencies: parse<string[]>(r.dependencies),
    maxDurationMs: r.max_duration_ms,
    maxRetries: r.max_retries,
    backoff: parseBackoff(r.backoff),
    budget: parseOrNull<Record<string, number>>(r.budget),
    usage: parse<Record<string, number>>(r.usage),
    idempotencyKey: r.idempotency_key,
    webhookUrl: r.webhook_url,
    workflowId: r.workflow_id,
    stepId: r.step_id,
    mapIndex: r.map_index,
    policies: parseOrNull<ItemPolicies>(r.policies),
    progress: r.progress,
    progressMessage: r.progress_message,
    attempts: r.attempts,
    retries: r.retries,
    output: parseOrNull<JsonValue>(r.output),
    error: parseOrNull<ItemError>(r.error),
    executorId: r.executor_id,
    createdAt: r.created_at,
    assignedAt: r.assigned_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    runAt: r.run_at,
    deadlineAt: r.deadline_at,
    receiptSeq: r.receipt_seq,
    receiptHash: r.receipt_hash,
    leaseToken: r.lease_token,
    leaseExpiresAt: r.lease_expires_at,
    unfinishedDeps: r.unfinished_deps,
  };
}

/** Named parameters for the INSERT of a new item. */
export function toInsertParams(r: ItemRecord): Omit<ItemRow, 'seq'> {
  return {
    id: r.id,
    tenant: r.tenant,
    queue: r.queue,
    type: r.type,
    name: r.name,
    retry_of: r.retryOf,
    payload: json(r.payload),
    status: r.status,
    priority: r.priority,
    required_caps: json(r.requiredCapabilities),
    dependencies: json(r.dependencies),
    max_duration_ms: r.maxDurationMs,
    max_retries: r.maxRetries,
    backoff: json(r.backoff),
    budget: jsonOrNull(r.budget),
    usage: json(r.usage),
    idempotency_key: r.idempotencyKey,
    webhook_url: r.webhookUrl,
    workflow_id: r.workflowId,
    step_id: r.stepId,
    map_index: r.mapIndex,
    policies: jsonOrNull(r.policies),
    progress: r.progress,
    progress_message: r.progressMessage,
    attempts: r.attempts,
    retries: r.retries,
    output: jsonOrNull(r.output),
    error: jsonOrNull(r.error),
    executor_id: r.executorId,
    created_at: r.createdAt,
    assigned_at: r.assignedAt,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    run_at: r.runAt,
    deadline_at: r.deadlineAt,
    receipt_seq: r.receiptSeq,
    receipt_hash: r.receiptHash,
    lease_token: r.leaseToken,
    lease_expires_at: r.leaseExpiresAt,
    unfinished_deps: r.unfinishedDeps,
  };
}

/** Patch field → column, and how its value is stored. */
export const PATCH_COLUMNS: Record<keyof ItemPatch, { column: string; encode: (v: unknown) => unknown }> = {
  status: { column: 'status', encode: (v) => v },
  type: { column: 'type', encode: (v) => v },
  payload: { column: 'payload', encode: json },
  policies: { column: 'policies', encode: jsonOrNull },
  usage: { column: 'usage', encode: json },
  progress: { column: 'progress', encode: (v) => v },
  progressMessage: { column: 'progress_message', encode: (v) => v },
  attempts: { column: 'attempts', encode: (v) => v },
  retries: { column: 'retries', encode: (v) => v },
  output: { column: 'output', encode: jsonOrNull },
  error: { column: 'error', encode: jsonOrNull },
  executorId: { column: 'executor_id', encode: (v) => v },
  assignedAt: { column: 'assigned_at', encode: (v) => v },
  startedAt: { column: 'started_at', encode: (v) => v },
  finishedAt: { column: 'finished_at', encode: (v) => v },
  runAt: { column: 'run_at', encode: (v) => v },
  deadlineAt: { column: 'deadline_at', encode: (v) => v },
  receiptSeq: { column: 'receipt_seq', encode: (v) => v },
  receiptHash: { column: 'receipt_hash', encode: (v) => v },
};
