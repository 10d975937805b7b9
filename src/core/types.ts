/**
 * @module types
 * The domain types users see.
 *
 * Glossary
 * - work item: one unit of work (a "task" in the HTTP API) of a `type` that names its handler.
 * - executor: anything that runs items — a pull worker (`cv.worker`) or a push-style executor
 *   registered with `registerExecutor` and driven with assign/start/complete.
 * - lease: the time-bounded right of one executor to run an item; heartbeats renew it. The
 *   lease token (a number that grows with every claim) fences off late finishers.
 * - attempt: one execution that started; `retries` counts how often an item went back to the
 *   queue after a failure or an expired lease.
 * - receipt: a record of one transition in an item's SHA-256 hash chain (CONTRACT §3).
 * - event: an entry of the append-only log. Every state change writes one; replaying the log
 *   rebuilds every item's state.
 * - tenant: the owner of an item; dependencies never cross tenants.
 */
import type { BackoffPolicy } from './backoff.js';
import type { ItemError } from './errors.js';
import type { ItemStatus, ReceiptStatus } from './item-state.js';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };

export const PRIORITY = { low: -10, normal: 0, high: 10, critical: 20 } as const;
export type PriorityName = keyof typeof PRIORITY;

export interface ItemConstraints {
  maxDurationMs: number | null;
  requiredCapabilities: string[];
  dependencies: string[];
  maxRetries: number;
  backoff: BackoffPolicy;
}

/** A work item as the library returns it: plain JSON, times as ISO-8601 strings. */
export interface WorkItem {
  id: string;
  type: string;
  /** Display name, or null. */
  name: string | null;
  /** The failed or cancelled item this one retries, or null. */
  retryOf: string | null;
  payload: JsonValue;
  status: ItemStatus;
  priority: number;
  queue: string;
  tenant: string;
  constraints: ItemConstraints;
  budget: Record<string, number> | null;
  /** What the executor reported using, per budget key. */
  usage: Record<string, number>;
  progress: number;
  progressMessage: string | null;
  /** Executions started so far. */
  attempts: number;
  /** Times the item was sent back to the queue after a failure or an expired lease. */
  retries: number;
  output: JsonValue | null;
  error: ItemError | null;
  executorId: string | null;
  idempotencyKey: string | null;
  webhookUrl: string | null;
  workflowId: string | null;
  stepId: string | null;
  /** A parallel map's child: the index of its element; else null. */
  mapIndex: number | null;
  /** Shared-state policies that apply when it is claimed and settled (workflow steps). */
  policies: ItemPolicies | null;
  createdAt: string;
  assignedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  runAt: string;
  leaseExpiresAt: string | null;
  /**
   * Fencing token of the current lease while the item is assigned or running, else null.
   * Push executors pass it back with complete/fail so a stale report is refused.
   */
  leaseToken: number | null;
}

/**
 * Policies whose state lives in the store, so they hold across every worker and process:
 * a token bucket checked at claim time (an item over the limit is rescheduled, not held),
 * a circuit breaker (an open one fails the item at once), and batching (a handler gets up
 * to `size` items at once; a partial batch waits at most `flushMs` from its oldest item).
 */
export interface ItemPolicies {
  /** `reserved`: it was rescheduled holding a token taken in advance (see engine/policies.ts). */
  rateLimit?: { key: string; perSecond: number; burst: number; reserved?: boolean };
  circuitBreaker?: { key: string; failureThreshold: number; resetTimeoutMs: number };
  batch?: { size: number; flushMs: number };
  /** A workflow step that failed and now runs as its step's fallback. */
  fallback?: boolean;
  /** A step with a `cache` policy: its resolved cache key (handler type + key). */
  cacheKey?: string;
}

/** One link of an item's receipt chain (CONTRACT §3). */
export interface Receipt {
  id: string;
  itemId: string;
  seq: number;
  status: ReceiptStatus;
  timestamp_iso: string;
  executorId: string | null;
  progress: number;
  output: JsonValue | null;
  error: ItemError | null;
  retryCount: number;
  previousReceiptHash: string | null;
  receiptHash: string;
}

export interface ReceiptVerification {
  itemId: string;
  valid: boolean;
  /** Receipts checked. */
  count: number;
  /** The seq of the first receipt whose hash or link does not hold, else null. */
  firstBrokenSeq: number | null;
  reason: string | null;
}

export interface Executor {
  id: string;
  capabilities: string[];
  concurrency: number;
  busy: boolean;
  registeredAt: string;
  lastSeenAt: string;
}

export type ItemCounts = Record<ItemStatus, number>;

/** An entry of the event log, as `subscribe` delivers it. */
export interface ConveyorEvent {
  /** Position in the log; strictly increasing. */
  seq: number;
  type: string;
  at: string;
  tenant: string;
  itemId: string | null;
  workflowId: string | null;
  data: Record<string, unknown>;
}

export interface LogLine {
  seq: number;
  itemId: string;
  attempt: number;
  at: string;
  message: string;
}
