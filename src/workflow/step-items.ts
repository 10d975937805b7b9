/**
 * @module step-items
 * The work items of a workflow run: one per step, created when the run starts (a step with
 * dependencies waits `pending` on its dependencies' items; one without runs at once), and
 * one per element of a parallel map, created when the map step starts. Ids are derived
 * from the workflow id, so the orchestrator finds any step's item without a lookup table.
 */
import type { ItemPolicies, JsonValue } from '../core/types.js';
import type { PlannedItem } from '../engine/enqueue.js';
import type { ParsedEnqueue } from '../engine/validation.js';
import type { StepDefinition } from './definition-types.js';

export const stepItemId = (workflowId: string, stepId: string): string => `${workflowId}:${stepId}`;
export const childItemId = (workflowId: string, stepId: string, index: number): string =>
  `${workflowId}:${stepId}:${index}`;

/** The key a cache policy stores a step's output under: its handler type and resolved key. */
export const cacheKeyOf = (def: StepDefinition, resolved: JsonValue): string =>
  `${def.type}:${typeof resolved === 'string' ? resolved : JSON.stringify(resolved)}`;

/** The policies that travel with a step's items (a map step's go to its children). */
export function policiesOf(def: StepDefinition, cacheKey?: string): ItemPolicies | null {
  const p: ItemPolicies = {};
  if (cacheKey !== undefined) p.cacheKey = cacheKey;
  if (def.rateLimit) {
    const { key, perSecond } = def.rateLimit;
    p.rateLimit = { key, perSecond, burst: def.rateLimit.burst ?? Math.max(1, Math.ceil(perSecond)) };
  }
  if (def.circuitBreaker) p.circuitBreaker = { ...def.circuitBreaker };
  if (def.batch) p.batch = { ...def.batch };
  return Object.keys(p).length > 0 ? p : null;
}

function baseInput(def: StepDefinition, tenant: string, workflowId: string): ParsedEnqueue {
  return {
    type: def.type,
    tenant,
    workflowId,
    stepId: def.id,
    ...(def.priority !== undefined ? { priority: def.priority } : {}),
    ...(def.queue !== undefined ? { queue: def.queue } : {}),
    constraints: {
      ...(def.requiredCapabilities ? { requiredCapabilities: def.requiredCapabilities } : {}),
      ...(def.retry?.maxRetries !== undefined ? { maxRetries: def.retry.maxRetries } : {}),
      ...(def.retry?.backoff ? { backoff: def.retry.backoff } : {}),
    },
  };
}

/**
 * The item of one step. `payload` is its resolved input when it can run at once; a step
 * with dependencies gets its input when they have completed. The map step itself and a
 * step waiting for an event are run by the engine, so they carry no retries or policies.
 */
export function stepItem(
  def: StepDefinition,
  ctx: { workflowId: string; tenant: string; index: number },
  depItemIds: string[],
  payload: JsonValue | undefined,
  cacheKey?: string,
): PlannedItem {
  const input = baseInput(def, ctx.tenant, ctx.workflowId);
  const engineRun = def.map !== undefined || def.waitForEvent !== undefined;
  input.id = stepItemId(ctx.workflowId, def.id);
  input.payload = payload ?? {};
  input.constraints = {
    ...(engineRun ? { maxRetries: 0 } : input.constraints),
    ...(depItemIds.length > 0 ? { dependencies: depItemIds } : {}),
    ...(def.timeoutMs !== undefined && !engineRun ? { maxDurationMs: def.timeoutMs } : {}),
  };
  return {
    input,
    id: input.id,
    tenant: ctx.tenant,
    dependencies: depItemIds,
    index: ctx.index,
    extras: { policies: engineRun ? null : policiesOf(def, cacheKey) },
  };
}

/** A child of a map step: the step's handler, policies and retries, for element `index`. */
export function mapChildItem(
  def: StepDefinition,
  ctx: { workflowId: string; tenant: string },
  index: number,
  payload: JsonValue,
  held: boolean,
  cacheKey?: string,
): PlannedItem {
  const input = baseInput(def, ctx.tenant, ctx.workflowId);
  input.id = childItemId(ctx.workflowId, def.id, index);
  input.payload = payload;
  const timeout = def.map?.itemTimeoutMs ?? def.timeoutMs;
  if (timeout !== undefined) input.constraints = { ...input.constraints, maxDurationMs: timeout };
  return {
    input,
    id: input.id,
    tenant: ctx.tenant,
    dependencies: [],
    index,
    extras: { policies: policiesOf(def, cacheKey), mapIndex: index, held },
  };
}
