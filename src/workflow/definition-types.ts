/**
 * @module definition-types
 * The shape of a workflow definition (CONTRACT §5): plain JSON, so the builder, the HTTP
 * API, MCP and the CLI all produce the same thing. `definition.ts` validates it (zod, with
 * a published JSON Schema); `compileWorkflow` turns a valid one into the graph the
 * orchestrator runs.
 *
 * Glossary
 * - step: one unit of the workflow, run as one work item of `type` (a handler name).
 * - phase: a named group of steps; a step in a phase depends on every step of the phases
 *   that phase `dependsOn`.
 * - template: `{{input.x}}`, `{{steps.<id>.output.<path>}}`, and inside a map step
 *   `{{item}}`, `{{item.<path>}}`, `{{index}}`. A string that is exactly one template
 *   yields the raw value; templates inside longer strings are interpolated as text.
 */
import type { JsonValue, PriorityName } from '../core/types.js';
import type { BackoffPolicy } from '../core/backoff.js';

export type StepFailurePolicy = 'failFast' | 'continue';

export interface PhaseDefinition {
  id: string;
  name?: string;
  dependsOn?: string[];
}

export interface RetryPolicy {
  /** Retries after the first attempt (default 3, as for work items). */
  maxRetries?: number;
  backoff?: Partial<BackoffPolicy>;
}

export interface FallbackDefinition {
  /** Handler that runs instead when the step fails for good, times out or meets an open breaker. */
  type: string;
  /** Its input (templates allowed); default: the step's resolved input. */
  input?: JsonValue;
}

/** Token bucket shared by every worker: `burst` tokens at most, refilled at `perSecond`. */
export interface RateLimitPolicy {
  key: string;
  perSecond: number;
  /** Bucket size; default max(1, ceil(perSecond)). */
  burst?: number;
}

/** Opens after `failureThreshold` consecutive failures; after `resetTimeoutMs` one trial runs (half_open). */
export interface CircuitBreakerPolicy {
  key: string;
  failureThreshold: number;
  resetTimeoutMs: number;
}

/**
 * Cache-aside: `key` (templates allowed) → the step's output, for `ttlMs`. Kept in the
 * store by default; with `resource`, in that cache resource instead (a `Cache`, such as
 * `createRedisCache()`), which must be declared like any resource.
 */
export interface CachePolicy {
  key: string;
  ttlMs: number;
  resource?: string;
}

/** Parallel map: one child item per element of the array `over` resolves to. */
export interface MapPolicy {
  /** A template that resolves to an array, e.g. `{{steps.fetch.output.users}}`. */
  over: string;
  /** Children running at once; default: all. */
  concurrency?: number;
  /** Keep going when a child fails (its result is null, its error recorded); default false. */
  continueOnError?: boolean;
  /** Each child's maxDurationMs. */
  itemTimeoutMs?: number;
}

/** The handler receives up to `size` payloads at once; a partial batch goes after `flushMs`. */
export interface BatchPolicy {
  size: number;
  flushMs: number;
}

/** The step completes with the payload of the first event of this name sent to the workflow. */
export interface WaitForEventPolicy {
  name: string;
  /** Fails with TIMEOUT when no such event came in time; default: waits forever. */
  timeoutMs?: number;
}

export interface StepDefinition {
  /** Unique in the workflow; letters, digits, `_` and `-` (templates address steps by it). */
  id: string;
  /** The handler that runs it (not used by waitForEvent steps). */
  type: string;
  input?: JsonValue;
  deps?: string[];
  phase?: string;
  requiredCapabilities?: string[];
  priority?: number | PriorityName;
  queue?: string;
  retry?: RetryPolicy;
  /** The step's maxDurationMs: longer runs fail with TIMEOUT (and are retried per `retry`). */
  timeoutMs?: number;
  fallback?: FallbackDefinition;
  rateLimit?: RateLimitPolicy;
  circuitBreaker?: CircuitBreakerPolicy;
  cache?: CachePolicy;
  map?: MapPolicy;
  batch?: BatchPolicy;
  waitForEvent?: WaitForEventPolicy;
  /** Resources its handler uses (`ctx.resources.get(name)`); each must be declared. */
  resources?: string[];
}

export interface WorkflowDefinition {
  name: string;
  /** What the workflow is for, for people (shown by the API and dashboard). */
  description?: string;
  /** Default 'failFast': the first step that fails for good fails the workflow and cancels the rest. */
  onStepFailure?: StepFailurePolicy;
  phases?: PhaseDefinition[];
  steps: StepDefinition[];
  /** Resources declared by the definition itself (names; factories live on the builder or the Conveyor). */
  resources?: string[];
}
