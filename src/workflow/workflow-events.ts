/**
 * @module workflow-events
 * The log entries of a workflow's own state (its items log theirs): `workflow.created`
 * with the whole record, then `workflow.updated` with each patch, which is what lets replay
 * rebuild every workflow row from the log alone (see workflow-replay.ts). The created entry
 * also carries the definition and the input.
 */
import { appendEvent, type TxContext } from '../engine/tx-context.js';
import type { WorkflowPatch, WorkflowRecord, WorkflowSpec } from '../store/workflow-records.js';

const FINAL = new Set(['completed', 'failed', 'cancelled']);

export async function logWorkflowCreated(c: TxContext, w: WorkflowRecord, spec: WorkflowSpec): Promise<void> {
  await append(c, w, 'workflow.created', { state: { ...w }, definition: spec.definition, input: spec.input });
}

/** Writes `patch` to the row and logs it; returns the patched record. */
export async function patchWorkflow(
  c: TxContext,
  w: WorkflowRecord,
  patch: WorkflowPatch,
): Promise<WorkflowRecord> {
  await c.tx.updateWorkflow(w.id, patch);
  if (w.webhookUrl !== null && patch.status !== undefined && FINAL.has(patch.status)) {
    c.webhooks.push({
      kind: 'workflow',
      id: w.id,
      tenant: w.tenant,
      url: w.webhookUrl,
      status: patch.status,
    });
  }
  await append(c, w, 'workflow.updated', { from: w.status, to: patch.status ?? w.status, patch });
  return { ...w, ...patch };
}

/** Any other fact about a workflow worth a log entry (an event sent to it). */
export function logWorkflowFact(
  c: TxContext,
  w: WorkflowRecord,
  type: string,
  data: Record<string, unknown>,
): Promise<void> {
  return append(c, w, type, data);
}

async function append(
  c: TxContext,
  w: WorkflowRecord,
  type: string,
  data: Record<string, unknown>,
): Promise<void> {
  await appendEvent(c, { type, at: c.now, tenant: w.tenant, itemId: null, workflowId: w.id, data });
}
