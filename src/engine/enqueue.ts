/**
 * @module enqueue
 * Turning validated input into new items: defaults, idempotency keys, delays, dependency
 * checks (unknown ids, other tenants, cycles) and the first receipt. A batch is one
 * transaction; any error rolls all of it back.
 */
import { v7 as uuidv7 } from 'uuid';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../core/backoff.js';
import { NotFoundError, TenantMismatchError, ValidationError } from '../core/errors.js';
import { PRIORITY, type ItemPolicies } from '../core/types.js';
import type { ItemRecord } from '../store/records.js';
import { onItemFinished, orderByDependencies } from './dependencies.js';
import { applyTransition } from './transition.js';
import type { TxContext } from './tx-context.js';
import type { ParsedEnqueue } from './validation.js';

export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_QUEUE = 'default';

/** A parsed input with its final id, resolved against the defaults (no I/O). */
export interface PlannedItem {
  input: ParsedEnqueue;
  id: string;
  tenant: string;
  dependencies: string[];
  /** Where in the caller's list it came from, for error paths like `items[2]`. */
  index: number;
  /** Set by the workflow orchestrator for the items it creates, never by callers. */
  extras?: PlanExtras;
}

/** What only internal callers (the workflow orchestrator) set on a new item. */
export interface PlanExtras {
  policies?: ItemPolicies | null;
  mapIndex?: number | null;
  /** Start pending even without dependencies: the orchestrator queues it later. */
  held?: boolean;
  /** `retryWorkItem`: the failed or cancelled item the new one retries. */
  retryOf?: string;
}

export function planItem(input: ParsedEnqueue, index: number, defaultTenant: string): PlannedItem {
  return {
    input,
    // Time-ordered (UUIDv7): items enqueued together sit together in every id-keyed index and
    // in the receipts table, so a batch of claims dirties a few pages, not one per item.
    id: input.id ?? uuidv7(),
    tenant: input.tenant ?? defaultTenant,
    dependencies: [...new Set(input.constraints?.dependencies ?? [])],
    index,
  };
}

function backoffOf(input: ParsedEnqueue): BackoffPolicy {
  const b = input.constraints?.backoff ?? {};
  const jitter = b.jitter === true ? 1 : b.jitter === false ? 0 : (b.jitter ?? DEFAULT_BACKOFF.jitter);
  const baseMs = b.baseMs ?? DEFAULT_BACKOFF.baseMs;
  return {
    type: b.type ?? DEFAULT_BACKOFF.type,
    baseMs,
    maxMs: b.maxMs ?? Math.max(DEFAULT_BACKOFF.maxMs, baseMs),
    jitter,
  };
}

function runAtOf(input: ParsedEnqueue, now: number): number {
  if (input.delayMs !== undefined) return now + input.delayMs;
  if (input.runAt === undefined) return now;
  if (input.runAt instanceof Date) return input.runAt.getTime();
  return typeof input.runAt === 'number' ? input.runAt : Date.parse(input.runAt);
}

function maxDurationOf(input: ParsedEnqueue): number | null {
  const c = input.constraints;
  if (c?.maxDurationMs !== undefined) return c.maxDurationMs;
  // bigint nanoseconds → whole milliseconds, rounded up so a limit is never shortened.
  if (c?.maxDuration !== undefined) return Number((c.maxDuration + 999_999n) / 1_000_000n);
  return null;
}

export function buildRecord(p: PlannedItem, now: number): ItemRecord {
  const input = p.input;
  const priority =
    input.priority === undefined
      ? 0
      : typeof input.priority === 'number'
        ? input.priority
        : PRIORITY[input.priority];
  return {
    id: p.id,
    tenant: p.tenant,
    queue: input.queue ?? DEFAULT_QUEUE,
    type: input.type,
    name: input.name ?? null,
    retryOf: p.extras?.retryOf ?? null,
    payload: input.payload === undefined ? {} : (input.payload as ItemRecord['payload']),
    status: p.dependencies.length > 0 || p.extras?.held ? 'pending' : 'queued',
    priority,
    requiredCapabilities: [...new Set(input.constraints?.requiredCapabilities ?? [])].sort(),
    dependencies: p.dependencies,
    maxDurationMs: maxDurationOf(input),
    maxRetries: input.constraints?.maxRetries ?? DEFAULT_MAX_RETRIES,
    backoff: backoffOf(input),
    budget: input.budget ?? null,
    usage: {},
    idempotencyKey: input.idempotencyKey ?? null,
    webhookUrl: input.webhookUrl ?? null,
    workflowId: input.workflowId ?? null,
    stepId: input.stepId ?? null,
    mapIndex: p.extras?.mapIndex ?? null,
    policies: p.extras?.policies ?? null,
    progress: 0,
    progressMessage: null,
    attempts: 0,
    retries: 0,
    output: null,
    error: null,
    executorId: null,
    createdAt: now,
    assignedAt: null,
    startedAt: null,
    finishedAt: null,
    runAt: runAtOf(input, now),
    deadlineAt: null,
    receiptSeq: 0,
    receiptHash: null,
    leaseToken: 0,
    leaseExpiresAt: null,
    unfinishedDeps: 0,
  };
}

/**
 * Inserts planned items (already validated) in dependency order. Items whose idempotency
 * key exists return the existing item. Returns the resulting records in input order.
 */
export async function enqueuePlanned(c: TxContext, planned: PlannedItem[]): Promise<ItemRecord[]> {
  const results = new Map<number, ItemRecord>();
  const fresh: PlannedItem[] = [];
  const keysInBatch = new Map<string, PlannedItem>();
  for (const p of planned) {
    const key = p.input.idempotencyKey;
    if (key !== undefined) {
      const existing = await c.tx.findByIdempotencyKey(p.tenant, key);
      if (existing) {
        results.set(p.index, existing);
        continue;
      }
      const twin = keysInBatch.get(`${p.tenant}\u0000${key}`);
      if (twin) {
        // Same key twice in one batch: the later one is the earlier one.
        p.id = twin.id;
        continue;
      }
      keysInBatch.set(`${p.tenant}\u0000${key}`, p);
    }
    fresh.push(p);
  }
  const batchIds = new Set(fresh.map((p) => p.id));
  // Also rejects an item that depends on itself (a cycle of one).
  const ordered = orderByDependencies(fresh);
  const inserted = new Map<string, ItemRecord>();
  for (const p of ordered) {
    const record = buildRecord(p, c.now);
    const outside = p.dependencies.filter((d) => !batchIds.has(d));
    const parents = outside.length ? await c.tx.getItems(outside) : [];
    const found = new Map(parents.map((x) => [x.id, x]));
    for (const [i, depId] of p.dependencies.entries()) {
      const parent = inserted.get(depId) ?? found.get(depId);
      const field = `${planned.length > 1 ? `items[${p.index}].` : ''}constraints.dependencies[${i}]`;
      if (!parent) throw new NotFoundError('dependency', depId, field);
      if (parent.tenant !== p.tenant) {
        throw new TenantMismatchError(`${field}: dependency ${depId} belongs to another tenant`, {
          field,
          id: depId,
        });
      }
    }
    const allParents = p.dependencies.map((d) => (inserted.get(d) ?? found.get(d))!);
    record.unfinishedDeps = allParents.filter((x) => x.status !== 'completed').length;
    if (allParents.length > 0 && record.unfinishedDeps === 0) record.status = 'queued';
    let { item } = await applyTransition(c, 'new', record);
    const dead = allParents.find(
      (x) => x.status === 'failed' || x.status === 'cancelled' || x.status === 'skipped',
    );
    if (dead) {
      ({ item } = await applyTransition(c, item, {
        to: 'skipped',
        receipt: 'skipped',
        actor: null,
        patch: {
          finishedAt: c.now,
          error: { code: 'DEPENDENCY_FAILED', message: `dependency ${dead.id} ${dead.status}` },
        },
      }));
      await onItemFinished(c, item);
    }
    inserted.set(item.id, item);
  }
  for (const p of planned) {
    if (results.has(p.index)) continue;
    const item = inserted.get(p.id);
    if (!item) throw new ValidationError([{ field: `items[${p.index}]`, message: 'could not be enqueued' }]);
    results.set(p.index, item);
  }
  return planned.map((p) => results.get(p.index)!);
}
