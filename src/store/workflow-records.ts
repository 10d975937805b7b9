/**
 * @module workflow-records
 * The engine's view of the workflow rows and of the shared state of the resilience
 * policies. The store keeps a workflow's definition and input as opaque JSON, apart from
 * the record (they never change, and they can be large): only the workflow layer knows
 * their shape.
 */
import type { ItemError } from '../core/errors.js';
import type { ItemStatus } from '../core/item-state.js';
import type { JsonValue } from '../core/types.js';

export const WORKFLOW_STATUSES = ['draft', 'running', 'completed', 'failed', 'cancelled'] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];

/** Progress of one parallel map step. */
export interface MapCounters {
  total: number;
  finished: number;
  failed: number;
  /** Index of the next child to queue (children past `concurrency` wait their turn). */
  next: number;
}

export interface WorkflowCounters {
  /** Steps of the definition (a map step counts once, however many children it has). */
  steps: number;
  /** Steps that reached a final state. */
  finished: number;
  /** Steps that failed, were cancelled or were skipped. */
  failed: number;
  maps: Record<string, MapCounters>;
}

export interface WorkflowRecord {
  id: string;
  tenant: string;
  name: string;
  status: WorkflowStatus;
  counters: WorkflowCounters;
  error: ItemError | null;
  webhookUrl: string | null;
  idempotencyKey: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** What a run was started with: written once, never changed. */
export interface WorkflowSpec {
  definition: JsonValue;
  input: JsonValue;
}

export type WorkflowPatch = Partial<
  Pick<WorkflowRecord, 'status' | 'counters' | 'error' | 'startedAt' | 'finishedAt'>
>;

export interface WorkflowFilter {
  tenant?: string | undefined;
  status?: WorkflowStatus | WorkflowStatus[] | undefined;
  name?: string | undefined;
}

/** What became of a workflow's step: its item's status, output and error. */
export interface StepOutcome {
  stepId: string;
  status: ItemStatus;
  output: JsonValue | null;
  error: ItemError | null;
}

/** An event sent to a workflow (`sendEvent`). */
export interface SignalRecord {
  seq: number;
  id: string;
  workflowId: string;
  name: string;
  payload: JsonValue;
  receivedAt: number;
}

/** A token bucket of a rateLimit policy. */
export interface RateBucket {
  key: string;
  tokens: number;
  updatedAt: number;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerRecord {
  key: string;
  state: BreakerState;
  failures: number;
  openedAt: number | null;
  trialItemId: string | null;
  updatedAt: number;
}

export interface CacheEntry {
  key: string;
  output: JsonValue;
  expiresAt: number;
}
