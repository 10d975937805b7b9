/**
 * @module errors
 * Every error Conveyor throws is a `ConveyorError` with a stable string `code`
 * (documented in docs/errors.md; a test keeps the two in step). Transport layers map
 * codes to their own status values; the core never knows about HTTP.
 */

export const ERROR_CODES = {
  VALIDATION: 'VALIDATION',
  NOT_FOUND: 'NOT_FOUND',
  INVALID_TRANSITION: 'INVALID_TRANSITION',
  CAPABILITY_MISMATCH: 'CAPABILITY_MISMATCH',
  BUDGET_EXCEEDED: 'BUDGET_EXCEEDED',
  CYCLE: 'CYCLE',
  TENANT_MISMATCH: 'TENANT_MISMATCH',
  CONFLICT: 'CONFLICT',
  LEASE_LOST: 'LEASE_LOST',
  EXECUTOR_BUSY: 'EXECUTOR_BUSY',
  NOT_DUE: 'NOT_DUE',
  TIMEOUT: 'TIMEOUT',
  LEASE_EXPIRED: 'LEASE_EXPIRED',
  DEPENDENCY_FAILED: 'DEPENDENCY_FAILED',
  CANCELLED: 'CANCELLED',
  SHUTDOWN: 'SHUTDOWN',
  HANDLER_ERROR: 'HANDLER_ERROR',
  NON_RETRYABLE: 'NON_RETRYABLE',
  RETRY_AFTER: 'RETRY_AFTER',
  CLOSED: 'CLOSED',
  STORE: 'STORE',
  TEMPLATE: 'TEMPLATE',
  HTTP_STATUS: 'HTTP_STATUS',
  HTTP_TIMEOUT: 'HTTP_TIMEOUT',
  HTTP_FAILED: 'HTTP_FAILED',
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
  STEP_FAILED: 'STEP_FAILED',
  URL_BLOCKED: 'URL_BLOCKED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN_HOST: 'FORBIDDEN_HOST',
  RATE_LIMITED: 'RATE_LIMITED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export class ConveyorError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConveyorError';
    this.code = code;
    this.details = options?.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export interface ValidationIssue {
  /** Dotted path of the offending field, e.g. `constraints.maxRetries` or `items[3].type`. */
  field: string;
  message: string;
}

export class ValidationError extends ConveyorError {
  readonly field: string;
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[]) {
    const first = issues[0] ?? { field: '(input)', message: 'invalid' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super('VALIDATION', `${first.field}: ${first.message}${more}`, { details: { issues } });
    this.name = 'ValidationError';
    this.field = first.field;
    this.issues = issues;
  }
}

export class NotFoundError extends ConveyorError {
  constructor(what: string, id: string, field?: string) {
    super('NOT_FOUND', `${what} ${JSON.stringify(id)} not found`, {
      details: { what, id, ...(field ? { field } : {}) },
    });
    this.name = 'NotFoundError';
  }
}

export class InvalidTransitionError extends ConveyorError {
  constructor(itemId: string, from: string, to: string, receipt: string) {
    super('INVALID_TRANSITION', `work item ${itemId}: cannot go from ${from} to ${to} (${receipt})`, {
      details: { itemId, from, to, receipt },
    });
    this.name = 'InvalidTransitionError';
  }
}

export class CapabilityMismatchError extends ConveyorError {
  constructor(itemId: string, executorId: string, missing: string[]) {
    super(
      'CAPABILITY_MISMATCH',
      `executor ${executorId} lacks ${missing.join(', ')} required by work item ${itemId}`,
      {
        details: { itemId, executorId, missing },
      },
    );
    this.name = 'CapabilityMismatchError';
  }
}

export class BudgetExceededError extends ConveyorError {
  constructor(itemId: string, key: string, used: number, limit: number) {
    super('BUDGET_EXCEEDED', `work item ${itemId}: budget ${key} exceeded (${used} > ${limit})`, {
      details: { itemId, key, used, limit },
    });
    this.name = 'BudgetExceededError';
  }
}

export class CycleError extends ConveyorError {
  constructor(cycle: string[]) {
    super('CYCLE', `dependency cycle: ${cycle.join(' → ')}`, { details: { cycle } });
    this.name = 'CycleError';
  }
}

/**
 * A workflow template (`{{steps.fetch.output.users}}`) met a path its data does not have.
 * Raised while a step's input is resolved, so it fails that step, not the definition.
 */
export class TemplateError extends ConveyorError {
  readonly template: string;
  constructor(template: string, segment: string, reason: string, field?: string) {
    super('TEMPLATE', `${template}${field ? ` (at ${field})` : ''}: ${reason}`, {
      details: { template, segment, ...(field ? { field } : {}) },
    });
    this.name = 'TemplateError';
    this.template = template;
  }
}

export class TenantMismatchError extends ConveyorError {
  constructor(message: string, details: Record<string, unknown>) {
    super('TENANT_MISMATCH', message, { details });
    this.name = 'TenantMismatchError';
  }
}

export class ConflictError extends ConveyorError {
  constructor(message: string, details: Record<string, unknown>) {
    super('CONFLICT', message, { details });
    this.name = 'ConflictError';
  }
}

/** The caller no longer holds the item: another executor, a newer lease, or a final state. */
export class LeaseLostError extends ConveyorError {
  constructor(itemId: string, executorId: string, reason: string) {
    super('LEASE_LOST', `work item ${itemId}: executor ${executorId} does not hold its lease (${reason})`, {
      details: { itemId, executorId, reason },
    });
    this.name = 'LeaseLostError';
  }
}

export class ExecutorBusyError extends ConveyorError {
  constructor(executorId: string, reason: string) {
    super('EXECUTOR_BUSY', `executor ${executorId} is busy (${reason})`, { details: { executorId, reason } });
    this.name = 'ExecutorBusyError';
  }
}

export class NotDueError extends ConveyorError {
  constructor(itemId: string, runAt: string) {
    super('NOT_DUE', `work item ${itemId} is not due before ${runAt}`, { details: { itemId, runAt } });
    this.name = 'NotDueError';
  }
}

export class ClosedError extends ConveyorError {
  constructor(what = 'conveyor') {
    super('CLOSED', `${what} is closed`);
    this.name = 'ClosedError';
  }
}

/**
 * Throw from a handler to fail the item at once, without retries
 * (Temporal's `ApplicationFailure.nonRetryable`, Inngest's `NonRetriableError`).
 */
export class NonRetryableError extends ConveyorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NON_RETRYABLE', message, options);
    this.name = 'NonRetryableError';
  }
}

/** Throw from a handler to retry after a delay of its choosing (still spends an attempt). */
export class RetryAfterError extends ConveyorError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options?: { cause?: unknown }) {
    super('RETRY_AFTER', message, options);
    this.name = 'RetryAfterError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** The error stored on an item and in receipts: small, JSON, no stack traces. */
export interface ItemError {
  code: string;
  message: string;
  name?: string;
}

/**
 * Normalises anything a handler may throw (strings, plain objects, `null`) into an
 * `ItemError`; every catch boundary goes through here (graphile-worker's `coerceError`).
 */
export function toItemError(thrown: unknown, fallbackCode: string = ERROR_CODES.HANDLER_ERROR): ItemError {
  if (thrown instanceof ConveyorError)
    return { code: thrown.code, message: thrown.message, name: thrown.name };
  if (thrown instanceof Error) {
    const code = (thrown as { code?: unknown }).code;
    return {
      code: typeof code === 'string' && code.length > 0 ? code : fallbackCode,
      message: thrown.message || thrown.name,
      name: thrown.name,
    };
  }
  if (typeof thrown === 'string') return { code: fallbackCode, message: thrown };
  if (thrown && typeof thrown === 'object') {
    const o = thrown as { code?: unknown; message?: unknown };
    return {
      code: typeof o.code === 'string' ? o.code : fallbackCode,
      message: typeof o.message === 'string' ? o.message : safeStringify(thrown),
    };
  }
  return { code: fallbackCode, message: String(thrown) };
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
