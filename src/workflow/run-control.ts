/**
 * @module run-control
 * Starting a run, cancelling one, and delivering an external event to one — each a single
 * transaction. Starting writes the workflow row and one item per step (those without
 * dependencies queued at once, the rest pending on their dependencies' items), so from its
 * first commit a run is complete in the store: any process can carry it on.
 */
import { v7 as uuidv7 } from 'uuid';
import { ConveyorError, NotFoundError } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';
import { enqueuePlanned } from '../engine/enqueue.js';
import { completeItem } from '../engine/settle.js';
import type { TxContext } from '../engine/tx-context.js';
import type { WorkflowRecord } from '../store/workflow-records.js';
import type { CompiledWorkflow } from './compile.js';
import { EVENTS_ACTOR, type RunSpec } from './orchestrator.js';
import { cacheKeyOf, stepItem, stepItemId } from './step-items.js';
import { stopWorkflowItems } from './stop-items.js';
import { resolveTemplates } from './templates.js';
import { logWorkflowCreated, logWorkflowFact, patchWorkflow } from './workflow-events.js';

export interface StartOptions {
  id?: string | undefined;
  tenant: string;
  webhookUrl?: string | undefined;
  idempotencyKey?: string | undefined;
}

/**
 * Creates and starts a run. A step that needs no other step gets its input now; a
 * reference to a part of the input that is not there fails the start (TEMPLATE) before
 * anything is written. The same idempotency key (same tenant) returns the first run.
 */
export async function startRun(
  c: TxContext,
  compiled: CompiledWorkflow,
  input: JsonValue,
  o: StartOptions,
): Promise<{ workflow: WorkflowRecord; created: boolean }> {
  if (o.idempotencyKey !== undefined) {
    const existing = await c.tx.findWorkflowByIdempotencyKey(o.tenant, o.idempotencyKey);
    if (existing) return { workflow: existing, created: false };
  }
  const definition = compiled.definition;
  const workflow: WorkflowRecord = {
    id: o.id ?? uuidv7(),
    tenant: o.tenant,
    name: definition.name,
    status: 'running',
    counters: { steps: compiled.steps.size, finished: 0, failed: 0, maps: {} },
    error: null,
    webhookUrl: o.webhookUrl ?? null,
    idempotencyKey: o.idempotencyKey ?? null,
    createdAt: c.now,
    startedAt: c.now,
    finishedAt: null,
  };
  const spec = { definition: definition as unknown as JsonValue, input };
  await c.tx.insertWorkflow(workflow, spec);
  await logWorkflowCreated(c, workflow, spec);
  const ctx = { workflowId: workflow.id, tenant: o.tenant };
  const planned = compiled.order.map((id, index) => {
    const step = compiled.steps.get(id)!;
    const def = step.def;
    // Steps the engine runs itself, and steps that wait for others, get their input later.
    const now = step.deps.length === 0 && !def.map && !def.waitForEvent;
    const scope = { input, steps: {} };
    const payload = now ? resolveTemplates(def.input ?? {}, scope) : undefined;
    const cacheKey = now && def.cache ? cacheKeyOf(def, resolveTemplates(def.cache.key, scope)) : undefined;
    return stepItem(
      def,
      { ...ctx, index },
      step.deps.map((d) => stepItemId(workflow.id, d)),
      payload,
      cacheKey,
    );
  });
  await enqueuePlanned(c, planned);
  return { workflow, created: true };
}

function assertOpen(w: WorkflowRecord, action: string): void {
  if (w.status !== 'running' && w.status !== 'draft')
    throw new ConveyorError('INVALID_TRANSITION', `cannot ${action} workflow ${w.id}: it is ${w.status}`, {
      details: { workflowId: w.id, status: w.status },
    });
}

async function openWorkflow(c: TxContext, id: string, action: string): Promise<WorkflowRecord> {
  const w = await c.tx.getWorkflow(id);
  if (!w) throw new NotFoundError('workflow', id, 'id');
  assertOpen(w, action);
  return w;
}

/** Cancels a run: its unfinished steps are cancelled (handlers' signals abort), waiting ones skipped. */
export async function cancelRun(c: TxContext, id: string, reason: string): Promise<WorkflowRecord> {
  const w = await openWorkflow(c, id, 'cancel');
  const cancelled = await patchWorkflow(c, w, {
    status: 'cancelled',
    error: { code: 'CANCELLED', message: reason },
    finishedAt: c.now,
  });
  await stopWorkflowItems(c, id, `workflow ${id} cancelled: ${reason}`);
  return cancelled;
}

/**
 * Records an event sent to a run and completes the steps waiting for it. A step that
 * starts waiting later takes the first event of its name that came before.
 */
export async function deliverEvent(
  c: TxContext,
  spec: (workflowId: string) => Promise<RunSpec>,
  id: string,
  name: string,
  payload: JsonValue,
): Promise<{ eventId: string }> {
  const w = await openWorkflow(c, id, 'send an event to');
  const eventId = uuidv7();
  await c.tx.insertSignal({ id: eventId, workflowId: id, name, payload, receivedAt: c.now });
  await logWorkflowFact(c, w, 'workflow.event', { eventId, name, payload });
  const waiting = [...(await spec(id)).compiled.steps.values()].filter(
    (s) => s.def.waitForEvent?.name === name,
  );
  for (const step of waiting) {
    const item = await c.tx.getItem(stepItemId(id, step.def.id));
    if (item?.status !== 'running' || item.executorId !== EVENTS_ACTOR) continue;
    // Only the first event of a name counts: later ones are kept, not delivered.
    const first = await c.tx.firstSignal(id, name);
    if (first?.id === eventId) await completeItem(c, item, payload, undefined);
  }
  return { eventId };
}
