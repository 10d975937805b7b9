/**
 * @module workflow-rows
 * Rows of the workflows, workflow_signals, rate_limits, circuit_breakers and step_cache
 * tables and their mapping to the engine's records. Both backends store the same columns
 * (JSON as text, times as epoch milliseconds), so one mapping serves both.
 */
import type { ItemError } from '../../core/errors.js';
import type { JsonValue } from '../../core/types.js';
import type {
  BreakerRecord,
  BreakerState,
  SignalRecord,
  WorkflowCounters,
  WorkflowPatch,
  WorkflowRecord,
  WorkflowSpec,
  WorkflowStatus,
} from '../workflow-records.js';

export interface WorkflowRow {
  seq: number;
  id: string;
  tenant: string;
  name: string;
  status: string;
  /** Only in the insert and in `workflowSpec`: see WORKFLOW_COLUMNS. */
  definition: string;
  input: string;
  counters: string;
  error: string | null;
  webhook_url: string | null;
  idempotency_key: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export const toWorkflowRecord = (r: Omit<WorkflowRow, 'definition' | 'input'>): WorkflowRecord => ({
  id: r.id,
  tenant: r.tenant,
  name: r.name,
  status: r.status as WorkflowStatus,
  counters: JSON.parse(r.counters) as WorkflowCounters,
  error: r.error === null ? null : (JSON.parse(r.error) as ItemError),
  webhookUrl: r.webhook_url,
  idempotencyKey: r.idempotency_key,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

/** Every column but the definition and input, for the reads that do not need them (all but one). */
export const WORKFLOW_COLUMNS =
  'seq, id, tenant, name, status, counters, error, webhook_url, idempotency_key, created_at, started_at, finished_at';

export function toWorkflowParams(w: WorkflowRecord, spec: WorkflowSpec | null): Omit<WorkflowRow, 'seq'> {
  return {
    id: w.id,
    tenant: w.tenant,
    name: w.name,
    status: w.status,
    definition: JSON.stringify(spec?.definition ?? null),
    input: JSON.stringify(spec?.input ?? null),
    counters: JSON.stringify(w.counters),
    error: w.error === null ? null : JSON.stringify(w.error),
    webhook_url: w.webhookUrl,
    idempotency_key: w.idempotencyKey,
    created_at: w.createdAt,
    started_at: w.startedAt,
    finished_at: w.finishedAt,
  };
}

/** Patch field → column, and how its value is stored. */
export const WORKFLOW_PATCH_COLUMNS: Record<
  keyof WorkflowPatch,
  { column: string; encode: (v: unknown) => unknown }
> = {
  status: { column: 'status', encode: (v) => v },
  counters: { column: 'counters', encode: (v) => JSON.stringify(v) },
  error: { column: 'error', encode: (v) => (v === null ? null : JSON.stringify(v)) },
  startedAt: { column: 'started_at', encode: (v) => v },
  finishedAt: { column: 'finished_at', encode: (v) => v },
};

export interface SignalRow {
  seq: number;
  id: string;
  workflow_id: string;
  name: string;
  payload: string;
  received_at: number;
}

export const toSignal = (r: SignalRow): SignalRecord => ({
  seq: r.seq,
  id: r.id,
  workflowId: r.workflow_id,
  name: r.name,
  payload: JSON.parse(r.payload) as JsonValue,
  receivedAt: r.received_at,
});

export interface BreakerRow {
  key: string;
  state: string;
  failures: number;
  opened_at: number | null;
  trial_item_id: string | null;
  updated_at: number;
}

export const toBreaker = (r: BreakerRow): BreakerRecord => ({
  key: r.key,
  state: r.state as BreakerState,
  failures: r.failures,
  openedAt: r.opened_at,
  trialItemId: r.trial_item_id,
  updatedAt: r.updated_at,
});
