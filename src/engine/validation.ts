/**
 * @module validation
 * Input schemas for every public primitive (zod). `parseInput` turns the first problems
 * into a `ValidationError` that names the field (`constraints.maxRetries`,
 * `items[3].type`); callers validate before they open a transaction, so bad input writes
 * nothing.
 */
import { z } from 'zod';
import { BACKOFF_TYPES } from '../core/backoff.js';
import { ValidationError, type ValidationIssue } from '../core/errors.js';
import { ITEM_STATUSES } from '../core/item-state.js';
import { PRIORITY } from '../core/types.js';

const MAX_DELAY_MS = 10 * 365 * 24 * 3600 * 1000; // ten years
const MAX_JSON_DEPTH = 64;

/** Ids, types, queues, capabilities: printable, no spaces, bounded. */
export const nameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .regex(/^[A-Za-z0-9_.:@/-]+$/, 'may only contain letters, digits and _ . : @ / -');

/** True when `v` survives JSON.stringify → JSON.parse unchanged (no functions, cycles, NaN…). */
export function jsonProblem(v: unknown, depth = 0, seen = new Set<object>()): string | null {
  if (depth > MAX_JSON_DEPTH) return `is nested deeper than ${MAX_JSON_DEPTH} levels`;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : 'must be a finite number';
  if (typeof v !== 'object') return `must be JSON (found a ${typeof v})`;
  if (seen.has(v)) return 'must not contain a cycle';
  seen.add(v);
  if (Array.isArray(v)) {
    for (const x of v) {
      const p = jsonProblem(x, depth + 1, seen);
      if (p) return p;
    }
  } else {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return 'must be a plain JSON object';
    for (const x of Object.values(v)) {
      if (x === undefined) continue;
      const p = jsonProblem(x, depth + 1, seen);
      if (p) return p;
    }
  }
  seen.delete(v);
  return null;
}

export const jsonSchema = z.unknown().superRefine((v, ctx) => {
  const problem = v === undefined ? null : jsonProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A timeout or period in milliseconds: a positive integer, ten years at most. */
export const durationMsSchema = z.number().int().positive().max(MAX_DELAY_MS);

/** Retries after the first attempt. */
export const maxRetriesSchema = z.number().int().min(0).max(1000);

/** Capabilities an item requires or an executor offers. */
export const capabilitiesSchema = z.array(nameSchema).max(64);

/**
 * The backoff knobs, shared by enqueue constraints and workflow retry policies. Each
 * caller wraps them in its own object: enqueue takes `.optional()` fields and `jitter: true`,
 * a workflow definition (whose TypeScript type is `Partial<BackoffPolicy>`) takes exact
 * optional fields and a numeric jitter.
 */
export const backoffFieldSchemas = {
  type: z.enum(BACKOFF_TYPES),
  baseMs: z.number().int().min(0).max(MAX_DELAY_MS),
  maxMs: z.number().int().min(0).max(MAX_DELAY_MS),
  jitter: z.number().min(0).max(1),
};

/** A cap below the first delay would silently shorten every delay: refuse it where it is set. */
export function checkBackoffOrder(
  b: { baseMs?: number | undefined; maxMs?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  if (b.baseMs !== undefined && b.maxMs !== undefined && b.maxMs < b.baseMs) {
    ctx.addIssue({ code: 'custom', path: ['maxMs'], message: 'must be at least baseMs' });
  }
}

const backoffSchema = z
  .strictObject({
    type: backoffFieldSchemas.type.optional(),
    baseMs: backoffFieldSchemas.baseMs.optional(),
    maxMs: backoffFieldSchemas.maxMs.optional(),
    jitter: z.union([backoffFieldSchemas.jitter, z.boolean()]).optional(),
  })
  .superRefine(checkBackoffOrder);

const constraintsSchema = z.strictObject({
  maxDurationMs: durationMsSchema.optional(),
  maxDuration: z
    .bigint()
    .positive()
    .max(BigInt(MAX_DELAY_MS) * 1_000_000n)
    .optional(),
  requiredCapabilities: capabilitiesSchema.optional(),
  dependencies: z.array(nameSchema).max(1000).optional(),
  maxRetries: maxRetriesSchema.optional(),
  backoff: backoffSchema.optional(),
});

export const prioritySchema = z.union([
  z.number().int().min(-1_000_000).max(1_000_000),
  z.enum(Object.keys(PRIORITY) as [keyof typeof PRIORITY, ...(keyof typeof PRIORITY)[]]),
]);

export const enqueueSchema = z
  .strictObject({
    id: nameSchema.optional(),
    type: nameSchema,
    name: z.string().min(1).max(500).optional(),
    payload: jsonSchema.optional(),
    priority: prioritySchema.optional(),
    queue: nameSchema.optional(),
    constraints: constraintsSchema.optional(),
    budget: z.record(nameSchema, z.number().finite().min(0)).optional(),
    idempotencyKey: z.string().min(1).max(500).optional(),
    runAt: z.union([z.date(), z.iso.datetime({ offset: true }), z.number().int().min(0)]).optional(),
    delayMs: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
    webhookUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(2048)
      .optional(),
    tenant: nameSchema.optional(),
    workflowId: nameSchema.optional(),
    stepId: nameSchema.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.runAt !== undefined && v.delayMs !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['delayMs'], message: 'give runAt or delayMs, not both' });
    }
    if (v.runAt instanceof Date && Number.isNaN(v.runAt.getTime())) {
      ctx.addIssue({ code: 'custom', path: ['runAt'], message: 'is an invalid Date' });
    }
    const c = v.constraints;
    if (c?.maxDurationMs !== undefined && c.maxDuration !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['constraints', 'maxDuration'],
        message: 'give maxDurationMs or maxDuration (nanoseconds), not both',
      });
    }
  });
export type EnqueueInput = z.input<typeof enqueueSchema>;
export type ParsedEnqueue = z.output<typeof enqueueSchema>;

export const enqueueManySchema = z.array(z.unknown()).min(1, 'must hold at least one item').max(10_000);

export const executorSchema = z.strictObject({
  capabilities: capabilitiesSchema.optional(),
  concurrency: z.number().int().min(1).max(10_000).optional(),
  busy: z.boolean().optional(),
});
export type ExecutorInput = z.input<typeof executorSchema>;

export const itemErrorInput = z.union([
  z.string().max(10_000),
  z.looseObject({ message: z.string().max(10_000), code: z.string().max(200).optional() }),
]);

export const completeSchema = z.strictObject({
  success: z.boolean().optional(),
  output: jsonSchema.optional(),
  error: itemErrorInput.optional(),
  usage: z.record(nameSchema, z.number().finite().min(0)).optional(),
  leaseToken: z.number().int().optional(),
});
export type CompleteInput = z.input<typeof completeSchema>;

export const failSchema = z.strictObject({
  error: itemErrorInput,
  retryable: z.boolean().optional(),
  retryAfterMs: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
  leaseToken: z.number().int().optional(),
});
export type FailInput = z.input<typeof failSchema>;

export const claimSchema = z.strictObject({
  /** Only this tenant's items. */
  tenant: nameSchema.optional(),
  types: z.array(nameSchema).min(1).max(1000).optional(),
  queues: z.array(nameSchema).min(1).max(1000).optional(),
  limit: z.number().int().min(1).max(1000).optional(),
  leaseMs: z
    .number()
    .int()
    .min(1000)
    .max(24 * 3600 * 1000)
    .optional(),
});
export type ClaimInput = z.input<typeof claimSchema>;

export const cancelSchema = z.strictObject({ reason: z.string().max(10_000).optional() });
export type CancelInput = z.input<typeof cancelSchema>;

export const progressSchema = z.strictObject({
  percent: z.number().min(0).max(100),
  message: z.string().max(10_000).optional(),
});

export const listSchema = z.strictObject({
  status: z.union([z.enum(ITEM_STATUSES), z.array(z.enum(ITEM_STATUSES)).max(8)]).optional(),
  type: nameSchema.optional(),
  queue: nameSchema.optional(),
  tenant: nameSchema.optional(),
  workflowId: nameSchema.optional(),
  executorId: nameSchema.optional(),
  limit: z.number().int().min(1).max(1000).optional(),
  cursor: z.string().regex(/^\d+$/, 'must be a cursor from a previous page').optional(),
});
export type ListFilter = z.input<typeof listSchema>;

export const subscribeSchema = z.strictObject({
  itemId: nameSchema.optional(),
  workflowId: nameSchema.optional(),
  tenant: nameSchema.optional(),
  afterSeq: z.number().int().min(0).optional(),
});
export type SubscribeFilter = z.input<typeof subscribeSchema>;

/** `fieldPath('steps[2]', ['retry', 'maxRetries'])` → `steps[2].retry.maxRetries`; indices in brackets. */
export function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(input)';
}

/** Parses `input` or throws a VALIDATION error naming each offending field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues: ValidationIssue[] = result.error.issues.slice(0, 10).map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return {
        field: fieldPath(prefix, [...issue.path, issue.keys[0] ?? '']),
        message: 'is not a known field',
      };
    }
    return { field: fieldPath(prefix, issue.path), message: issue.message };
  });
  throw new ValidationError(issues);
}

/** Checks a single argument, e.g. an item id, with the field name callers see. */
export function parseArg<S extends z.ZodType>(schema: S, value: unknown, field: string): z.output<S> {
  return parseInput(schema, value, field);
}
