/**
 * @module records
 * The engine's view of stored rows. `ItemRecord` is what a backend hands the engine
 * (JSON parsed, times as epoch milliseconds); `toWorkItem` turns it into the public
 * `WorkItem` (times as ISO strings). Each backend maps its own row type to these.
 */
import type { BackoffPolicy } from '../core/backoff.js';
import type { ItemError } from '../core/errors.js';
import type { ItemStatus } from '../core/item-state.js';
import type { ItemPolicies, JsonValue, Receipt, WorkItem } from '../core/types.js';

export interface ItemRecord {
  id: string;
  tenant: string;
  queue: string;
  type: string;
  /** Display name (the HTTP API's `name`), or null. */
  name: string | null;
  /** The failed or cancelled item this one retries (`retryWorkItem`), or null. */
  retryOf: string | null;
  payload: JsonValue;
  status: ItemStatus;
  priority: number;
  requiredCapabilities: string[];
  dependencies: string[];
  maxDurationMs: number | null;
  maxRetries: number;
  backoff: BackoffPolicy;
  budget: Record<string, number> | null;
  usage: Record<string, number>;
  idempotencyKey: string | null;
  webhookUrl: string | null;
  workflowId: string | null;
  stepId: string | null;
  mapIndex: number | null;
  policies: ItemPolicies | null;
  progress: number;
  progressMessage: string | null;
  attempts: number;
  retries: number;
  output: JsonValue | null;
  error: ItemError | null;
  executorId: string | null;
  createdAt: number;
  assignedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  runAt: number;
  /** When a running item's `maxDurationMs` runs out; the reaper fails it after that. */
  deadlineAt: number | null;
  /** Head of the receipt chain: the last receipt's seq and hash. */
  receiptSeq: number;
  receiptHash: string | null;
  /**
   * Lease fields are coordination, not history: heartbeats move them without writing an
   * event, so replay leaves them out (see ItemState).
   */
  leaseToken: number;
  leaseExpiresAt: number | null;
  /**
   * Dependencies not completed yet (coordination too: derived from the dependencies'
   * statuses, so replay leaves it out).
   */
  unfinishedDeps: number;
}

/** The part of an item the event log records and replay rebuilds. */
export type ItemState = Omit<ItemRecord, 'leaseToken' | 'leaseExpiresAt' | 'unfinishedDeps'>;

/** Fields a transition may change; identity and definition fields never change. */
export type ItemPatch = Partial<
  Pick<
    ItemRecord,
    | 'status'
    | 'type'
    | 'payload'
    | 'policies'
    | 'usage'
    | 'progress'
    | 'progressMessage'
    | 'attempts'
    | 'retries'
    | 'output'
    | 'error'
    | 'executorId'
    | 'assignedAt'
    | 'startedAt'
    | 'finishedAt'
    | 'runAt'
    | 'deadlineAt'
    | 'receiptSeq'
    | 'receiptHash'
  >
>;

export interface LeasePatch {
  leaseToken?: number;
  leaseExpiresAt: number | null;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function toWorkItem(r: ItemRecord): WorkItem {
  return {
    id: r.id,
    type: r.type,
    name: r.name,
    retryOf: r.retryOf,
    payload: r.payload,
    status: r.status,
    priority: r.priority,
    queue: r.queue,
    tenant: r.tenant,
    constraints: {
      maxDurationMs: r.maxDurationMs,
      requiredCapabilities: r.requiredCapabilities,
      dependencies: r.dependencies,
      maxRetries: r.maxRetries,
      backoff: { ...r.backoff },
    },
    budget: r.budget,
    usage: r.usage,
    progress: r.progress,
    progressMessage: r.progressMessage,
    attempts: r.attempts,
    retries: r.retries,
    output: r.output,
    error: r.error,
    executorId: r.executorId,
    idempotencyKey: r.idempotencyKey,
    webhookUrl: r.webhookUrl,
    workflowId: r.workflowId,
    stepId: r.stepId,
    mapIndex: r.mapIndex,
    policies: r.policies,
    createdAt: iso(r.createdAt),
    assignedAt: isoOrNull(r.assignedAt),
    startedAt: isoOrNull(r.startedAt),
    finishedAt: isoOrNull(r.finishedAt),
    runAt: iso(r.runAt),
    leaseExpiresAt: isoOrNull(r.leaseExpiresAt),
    leaseToken: r.status === 'assigned' || r.status === 'running' ? r.leaseToken : null,
  };
}

export function toItemState(r: ItemRecord): ItemState {
  const { leaseToken: _t, leaseExpiresAt: _e, unfinishedDeps: _u, ...state } = r;
  return state;
}

export interface EventRecord {
  seq: number;
  type: string;
  at: number;
  tenant: string;
  itemId: string | null;
  workflowId: string | null;
  data: Record<string, unknown>;
}

/**
 * An event to append. A transition's event carries the receipt it sealed: both are one row
 * of the log (see rows/log-rows.ts), so the receipt is written with its event or not at all.
 */
export type NewEvent = Omit<EventRecord, 'seq'> & { receipt?: Receipt | undefined };

export interface ExecutorRecord {
  id: string;
  capabilities: string[];
  concurrency: number;
  busy: boolean;
  registeredAt: number;
  lastSeenAt: number;
}

export interface LogRecord {
  seq: number;
  itemId: string;
  attempt: number;
  at: number;
  message: string;
}
