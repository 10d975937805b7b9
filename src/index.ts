/**
 * @module conveyor
 * Public entry point: `import { createConveyor } from 'conveyor'`.
 */
export { createConveyor, type ConveyorOptions } from './client/create-conveyor.js';
export { Conveyor } from './client/conveyor.js';
export type { Worker, WorkerOptions } from './worker/worker.js';
export type { Handler, HandlerContext } from './worker/handler-context.js';
export type { Subscription, EventListener } from './engine/subscriptions.js';
export type {
  EnqueueInput,
  ListFilter,
  SubscribeFilter,
  CompleteInput,
  FailInput,
} from './engine/validation.js';
export type {
  WorkItem,
  Receipt,
  ReceiptVerification,
  Executor,
  ItemCounts,
  ConveyorEvent,
  LogLine,
  JsonValue,
  ItemConstraints,
  PriorityName,
} from './core/types.js';
export { PRIORITY } from './core/types.js';
export {
  ITEM_STATUS,
  RECEIPT_STATUS,
  TRANSITIONS,
  type ItemStatus,
  type ReceiptStatus,
} from './core/item-state.js';
export {
  ConveyorError,
  ValidationError,
  NotFoundError,
  InvalidTransitionError,
  CapabilityMismatchError,
  BudgetExceededError,
  CycleError,
  TenantMismatchError,
  ConflictError,
  LeaseLostError,
  ExecutorBusyError,
  NotDueError,
  ClosedError,
  NonRetryableError,
  RetryAfterError,
  TemplateError,
  ERROR_CODES,
  type ErrorCode,
  type ItemError,
} from './core/errors.js';
export { backoffDelayMs, type BackoffPolicy } from './core/backoff.js';
export { computeReceiptHash, verifyReceiptChain, canonicalJson } from './core/receipts.js';
export { createManualClock, type Clock, type ManualClock } from './core/clock.js';
export type { Logger } from './core/logger.js';
export type { Resources, ResourceFactory } from './resources/registry.js';
export {
  WorkflowBuilder,
  type WorkflowBuilderOptions,
  type StepOptions,
  type PhaseOptions,
} from './workflow/builder.js';
export { parseWorkflowDefinition, workflowJsonSchema } from './workflow/definition.js';
export type {
  WorkflowDefinition,
  StepDefinition,
  PhaseDefinition,
  StepFailurePolicy,
  RetryPolicy,
  FallbackDefinition,
  RateLimitPolicy,
  CircuitBreakerPolicy,
  CachePolicy,
  MapPolicy,
  BatchPolicy,
  WaitForEventPolicy,
} from './workflow/definition-types.js';
export {
  createMemoryCache,
  type Cache,
  type CacheSetOptions,
  type MemoryCacheOptions,
} from './resources/cache.js';
export { createRedisCache, type RedisCache, type RedisCacheOptions } from './resources/redis-cache.js';
export {
  createHttpClient,
  HttpError,
  type HttpClient,
  type HttpClientOptions,
  type HttpRequestOptions,
  type HttpResponse,
} from './resources/http-client.js';
export {
  createPostgresPool,
  createSqliteDatabase,
  type PostgresPoolOptions,
  type SqliteDatabaseOptions,
} from './resources/database.js';
