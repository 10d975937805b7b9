/**
 * @module orchestrator
 * The workflow layer's part in the engine's transactions (engine/hooks.ts). Every step is
 * a work item; the engine's dependency rules decide when a step is ready, and this module
 * adds what is particular to workflows, in the same transaction as the change that set it
 * off: a ready step's input (templates resolved), the steps the engine runs itself (map,
 * waitForEvent, cache hits), fallbacks, the failure policy, the counters in the workflow
 * row, and the end of the run. Definitions never change once a run starts, so each
 * process compiles a run's definition once and keeps it.
 */
import { NotFoundError, TemplateError, toItemError, type ItemError } from '../core/errors.js';
import type { ItemPolicies, JsonValue } from '../core/types.js';
import { completeItem } from '../engine/settle.js';
import { takeOver } from '../engine/take-over.js';
import { applyTransition, type TransitionResult } from '../engine/transition.js';
import type { StepChanges, StepHooks, TxContext } from '../engine/tx-context.js';
import type { ItemRecord } from '../store/records.js';
import type { StoreReads } from '../store/store.js';
import type { WorkflowRecord } from '../store/workflow-records.js';
import type { Cache } from '../resources/cache.js';
import type { Resources } from '../resources/registry.js';
import { compileWorkflow, type CompiledStep, type CompiledWorkflow } from './compile.js';
import type { CachePolicy, StepDefinition, WorkflowDefinition } from './definition-types.js';
import { childFinished, startMap } from './map-step.js';
import { resolveFor } from './scope.js';
import { cacheKeyOf } from './step-items.js';
import { stopWorkflowItems } from './stop-items.js';
import { patchWorkflow } from './workflow-events.js';

export const EVENTS_ACTOR = 'conveyor:events';
export const CACHE_ACTOR = 'conveyor:cache';
const SPECS_KEPT = 1000;

/** What a run was started with, ready to use. */
export interface RunSpec {
  compiled: CompiledWorkflow;
  input: JsonValue;
}

export class Orchestrator implements StepHooks {
  private readonly specs = new Map<string, RunSpec>();

  /** @param resources where a cache policy with `resource` finds its cache */
  constructor(private readonly resources: Resources) {}

  /** A run's compiled definition and its input (cached: neither ever changes). */
  async specFor(reads: Pick<StoreReads, 'workflowSpec'>, workflowId: string): Promise<RunSpec> {
    let spec = this.specs.get(workflowId);
    if (!spec) {
      const stored = await reads.workflowSpec(workflowId);
      if (stored === undefined) throw new NotFoundError('workflow', workflowId, 'id');
      // Validated when the run started, resources included.
      const definition = stored.definition as unknown as WorkflowDefinition;
      spec = { compiled: compileWorkflow(definition, { hasResource: () => true }), input: stored.input };
      this.remember(workflowId, spec);
    }
    return spec;
  }

  remember(workflowId: string, spec: RunSpec): void {
    if (this.specs.size >= SPECS_KEPT) this.specs.delete(this.specs.keys().next().value!);
    this.specs.set(workflowId, spec);
  }

  /**
   * The step an item runs, if it belongs to a run. Items enqueued by hand may carry any
   * `workflowId`: one that names no run is just an item.
   */
  private async stepOf(c: TxContext, item: ItemRecord): Promise<CompiledStep | undefined> {
    if (item.stepId === null || item.workflowId === null) return undefined;
    if (!this.specs.has(item.workflowId) && !(await c.tx.getWorkflow(item.workflowId))) return undefined;
    return (await this.specFor(c.tx, item.workflowId)).compiled.steps.get(item.stepId);
  }

  /** `value` resolved against the run's input and the outputs of the steps it names. */
  private async resolve(c: TxContext, workflowId: string, value: JsonValue): Promise<JsonValue> {
    return resolveFor(c, workflowId, (await this.specFor(c.tx, workflowId)).input, value);
  }

  async ready(
    c: TxContext,
    item: ItemRecord,
  ): Promise<{ patch: { payload?: JsonValue; policies?: ItemPolicies | null } } | { error: ItemError }> {
    // Only the run's spec is needed (cached), not its row: a fan-out of a thousand steps
    // does not read the row a thousand times.
    const step = await this.stepOf(c, item);
    // A map step resolves per child, a waiting step has no handler: neither needs an input.
    if (!step || step.def.map || step.def.waitForEvent) return { patch: {} };
    const def = step.def;
    const id = item.workflowId!;
    try {
      const payload = await this.resolve(c, id, def.input ?? {});
      if (!def.cache) return { patch: { payload } };
      const cacheKey = cacheKeyOf(def, await this.resolve(c, id, def.cache.key));
      return { patch: { payload, policies: { ...item.policies, cacheKey } } };
    } catch (e) {
      if (e instanceof TemplateError) return { error: toItemError(e) };
      throw e;
    }
  }

  async settle(c: TxContext, changes: StepChanges): Promise<void> {
    const byWorkflow = new Map<string, StepChanges>();
    const group = (item: ItemRecord, kind: keyof StepChanges) => {
      let g = byWorkflow.get(item.workflowId!);
      if (!g) byWorkflow.set(item.workflowId!, (g = { queued: [], finished: [] }));
      g[kind].push(item);
    };
    for (const item of changes.queued) group(item, 'queued');
    for (const item of changes.finished) group(item, 'finished');
    for (const [id, g] of byWorkflow) {
      const stored = await c.tx.getWorkflow(id);
      if (!stored) continue;
      // A working copy: counters change in place, one row update and one log entry per round.
      const w: WorkflowRecord = { ...stored, counters: structuredClone(stored.counters) };
      for (const item of g.queued) await this.onQueued(c, w, item);
      let ended: WorkflowRecord | null = null;
      for (const item of g.finished) ended = (await this.onFinished(c, w, item)) ?? ended;
      if (ended)
        await patchWorkflow(c, stored, {
          status: ended.status,
          counters: w.counters,
          error: ended.error,
          finishedAt: c.now,
        });
      else if (JSON.stringify(w.counters) !== JSON.stringify(stored.counters))
        await patchWorkflow(c, stored, { counters: w.counters });
      if (ended && ended.status !== 'completed') await stopWorkflowItems(c, id, ended.error!.message);
    }
  }

  /** A step became queued: the kinds of step the engine runs itself start here. */
  private async onQueued(c: TxContext, w: WorkflowRecord, queued: ItemRecord): Promise<void> {
    if (w.status !== 'running' || queued.policies?.fallback) return;
    const step = await this.stepOf(c, queued);
    if (!step) return;
    const def = step.def;
    const child = queued.mapIndex !== null;
    const special = child ? queued.policies?.cacheKey : def.map || def.waitForEvent || def.cache;
    if (!special) return;
    // Read it again: what was queued earlier in this transaction may have moved since.
    const item = await c.tx.getItem(queued.id);
    if (item?.status !== 'queued') return;
    if (!child && def.map) {
      if (!w.counters.maps[def.id]) await startMap(c, w, (await this.specFor(c.tx, w.id)).input, def, item);
    } else if (!child && def.waitForEvent) {
      await this.startWaiting(c, w, def, item);
    } else if (item.policies?.cacheKey) {
      await this.tryCache(c, def, item, item.policies.cacheKey);
    }
  }

  /**
   * A step or map child reached a final state. Returns the workflow's end state when this
   * ended the run (completed, or failed by the failure policy), else null.
   */
  private async onFinished(
    c: TxContext,
    w: WorkflowRecord,
    item: ItemRecord,
  ): Promise<WorkflowRecord | null> {
    const step = await this.stepOf(c, item);
    if (!step) return null;
    const ok = item.status === 'completed';
    // Cache-aside, write side: an output that was computed (not itself a hit) is kept.
    const key = item.policies?.cacheKey;
    if (ok && key !== undefined && item.executorId !== CACHE_ACTOR && step.def.cache)
      await this.storeInCache(c, step.def.cache, key, item.output);
    if (item.mapIndex !== null) {
      if (w.status === 'running') await childFinished(c, w, step.def, item);
      return null;
    }
    w.counters.finished++;
    if (!ok) w.counters.failed++;
    if (w.status !== 'running') return null;
    const failed = item.status === 'failed' || item.status === 'cancelled';
    if (failed && (await this.specFor(c.tx, w.id)).compiled.onStepFailure === 'failFast') {
      const cause = item.error ?? { code: 'CANCELLED', message: item.status };
      w.status = 'failed';
      w.error = { code: cause.code, message: `step ${step.def.id} ${item.status}: ${cause.message}` };
      return w;
    }
    if (w.counters.finished < w.counters.steps) return null;
    w.status = w.counters.failed === 0 ? 'completed' : 'failed';
    if (w.counters.failed > 0)
      w.error = {
        code: 'STEP_FAILED',
        message: `${w.counters.failed} of ${w.counters.steps} steps did not complete`,
      };
    return w;
  }

  /** The step waits for an external event: the engine holds it until one of its name comes. */
  private async startWaiting(c: TxContext, w: WorkflowRecord, def: StepDefinition, item: ItemRecord) {
    const wait = def.waitForEvent!;
    const deadline = wait.timeoutMs === undefined ? null : c.now + wait.timeoutMs;
    const running = await takeOver(c, item, EVENTS_ACTOR, deadline);
    const signal = await c.tx.firstSignal(w.id, wait.name);
    if (signal) await completeItem(c, running, signal.payload, undefined);
  }

  /** Cache-aside, read side: a hit completes the item without running it, and says so. */
  private async tryCache(c: TxContext, def: StepDefinition, item: ItemRecord, key: string): Promise<void> {
    const policy = def.cache!;
    const output = policy.resource
      ? await (await this.resources.get<Cache>(policy.resource)).get<JsonValue>(key)
      : (await c.tx.getCached(key, c.now))?.output;
    if (output === undefined) return;
    const running = await takeOver(c, item, CACHE_ACTOR);
    await c.tx.appendLog(item.id, running.attempts, c.now, `cache hit: ${key}`);
    await completeItem(c, running, output, undefined);
  }

  /** Cache-aside, write side: an output that was computed is kept for ttlMs. */
  private async storeInCache(c: TxContext, policy: CachePolicy, key: string, output: JsonValue | null) {
    if (policy.resource) {
      await (await this.resources.get<Cache>(policy.resource)).set(key, output, { ttlMs: policy.ttlMs });
      return;
    }
    await c.tx.putCached({ key, output, expiresAt: c.now + policy.ttlMs });
  }

  async fallback(
    c: TxContext,
    item: ItemRecord,
    error: ItemError,
    receipt: 'retried' | 'lease_expired',
  ): Promise<TransitionResult | null> {
    if (item.policies?.fallback || item.mapIndex !== null) return null;
    const w = await c.tx.getWorkflow(item.workflowId!);
    const def = w && (await this.stepOf(c, item))?.def;
    if (!w || w.status !== 'running' || !def?.fallback) return null;
    let payload: JsonValue = item.payload;
    if (def.fallback.input !== undefined) {
      try {
        payload = await this.resolve(c, w.id, def.fallback.input);
      } catch (e) {
        if (e instanceof TemplateError) return null;
        throw e;
      }
    }
    // The step's item carries on under the fallback's handler: its dependents wait on the
    // same item, and its receipts tell the whole story (the failure, then the fallback).
    return applyTransition(c, item, {
      to: 'queued',
      receipt,
      actor: item.executorId,
      patch: {
        type: def.fallback.type,
        payload,
        policies: { fallback: true },
        error,
        attempts: item.attempts,
        runAt: c.now,
        executorId: null,
        deadlineAt: null,
      },
      lease: { leaseExpiresAt: null },
    });
  }
}
