/**
 * @module views
 * The HTTP API's JSON (CONTRACT §6: snake_case fields) of tasks, workflows, drafts,
 * receipts, executors, log lines and webhook attempts, mapped field by field from the
 * library's objects. Field by field on purpose: payloads, inputs and outputs are the
 * user's JSON, whose keys must come back exactly as they were sent.
 */
import type { ConveyorEvent, Executor, LogLine, Receipt, WorkItem } from '../core/types.js';
import type { WebhookAttemptRecord } from '../store/service-records.js';
import type { WorkflowDraft } from '../workflow/drafts.js';
import type { Workflow, WorkflowStep, WorkflowSummary } from '../workflow/workflow-view.js';

const iso = (ms: number) => new Date(ms).toISOString();

export function taskView(t: WorkItem) {
  return {
    id: t.id,
    name: t.name,
    type: t.type,
    status: t.status,
    priority: t.priority,
    queue: t.queue,
    payload: t.payload,
    result: t.output,
    error: t.error,
    progress: t.progress,
    progress_message: t.progressMessage,
    attempts: t.attempts,
    retries: t.retries,
    max_retries: t.constraints.maxRetries,
    timeout_seconds: t.constraints.maxDurationMs === null ? null : t.constraints.maxDurationMs / 1000,
    required_capabilities: t.constraints.requiredCapabilities,
    dependencies: t.constraints.dependencies,
    budget: t.budget,
    usage: t.usage,
    executor_id: t.executorId,
    lease_token: t.leaseToken,
    lease_expires_at: t.leaseExpiresAt,
    idempotency_key: t.idempotencyKey,
    webhook_url: t.webhookUrl,
    workflow_id: t.workflowId,
    step_id: t.stepId,
    retry_of: t.retryOf,
    created_at: t.createdAt,
    assigned_at: t.assignedAt,
    started_at: t.startedAt,
    finished_at: t.finishedAt,
    run_at: t.runAt,
  };
}
export type TaskView = ReturnType<typeof taskView>;

export function workflowSummaryView(w: WorkflowSummary) {
  return {
    id: w.id,
    name: w.name,
    status: w.status,
    progress: w.progress,
    error: w.error,
    webhook_url: w.webhookUrl,
    created_at: w.createdAt,
    started_at: w.startedAt,
    finished_at: w.finishedAt,
  };
}

export function stepView(s: WorkflowStep) {
  return {
    id: s.id,
    task_id: s.itemId,
    type: s.type,
    phase_id: s.phase,
    dependencies: s.deps,
    status: s.status,
    attempts: s.attempts,
    progress: s.progress,
    result: s.output,
    error: s.error,
    fallback: s.fallback,
    map: s.map,
    started_at: s.startedAt,
    finished_at: s.finishedAt,
  };
}

export function workflowView(w: Workflow) {
  return {
    ...workflowSummaryView(w),
    description: w.description,
    input: w.input,
    phases: w.phases.map((p) => ({ phase_id: p.id, name: p.name ?? p.id, depends_on: p.dependsOn ?? [] })),
    tasks: w.steps.map(stepView),
    results: w.results,
    errors: w.errors,
  };
}

/** A run's progress: per phase, counts by status, the failed tasks. */
export function workflowStatusView(w: Workflow) {
  const counts: Record<string, number> = {};
  for (const s of w.steps) counts[s.status] = (counts[s.status] ?? 0) + 1;
  const phases = w.phases.map((p) => {
    const steps = w.steps.filter((s) => s.phase === p.id);
    return {
      phase_id: p.id,
      name: p.name ?? p.id,
      status: phaseStatus(steps.map((s) => s.status)),
      total: steps.length,
      completed: steps.filter((s) => s.status === 'completed').length,
    };
  });
  return {
    id: w.id,
    name: w.name,
    status: w.status,
    progress: w.progress,
    total_tasks: w.steps.length,
    counts,
    phases,
    failed_tasks: w.steps
      .filter((s) => s.status === 'failed' || s.status === 'cancelled' || s.status === 'skipped')
      .map((s) => ({ id: s.id, task_id: s.itemId, status: s.status, error: s.error })),
    results: w.results,
    errors: w.errors,
    error: w.error,
    started_at: w.startedAt,
    finished_at: w.finishedAt,
  };
}

function phaseStatus(statuses: string[]): string {
  if (statuses.length === 0) return 'completed';
  if (statuses.every((s) => s === 'completed')) return 'completed';
  if (statuses.some((s) => s === 'failed')) return 'failed';
  if (statuses.every((s) => s === 'pending')) return 'pending';
  if (statuses.every((s) => s === 'completed' || s === 'skipped' || s === 'cancelled')) return 'finished';
  return 'running';
}

export function draftView(d: WorkflowDraft) {
  return {
    id: d.id,
    name: d.name,
    description: d.description,
    status: d.status,
    progress: 0,
    input: d.input,
    webhook_url: d.webhookUrl,
    phases: d.phases.map((p) => ({ phase_id: p.id, name: p.name ?? p.id, depends_on: p.dependsOn ?? [] })),
    tasks: d.steps.map((s) => ({
      id: s.id,
      task_id: null,
      type: s.type,
      phase_id: s.phase ?? null,
      dependencies: s.deps ?? [],
      status: 'draft',
      payload: s.input ?? null,
    })),
    created_at: d.createdAt,
    updated_at: d.updatedAt,
  };
}

/** A draft's progress, in the shape of a run's. */
export function draftStatusView(d: WorkflowDraft) {
  return {
    id: d.id,
    name: d.name,
    status: d.status,
    progress: 0,
    total_tasks: d.steps.length,
    counts: d.steps.length > 0 ? { draft: d.steps.length } : {},
    phases: d.phases.map((p) => ({
      phase_id: p.id,
      name: p.name ?? p.id,
      status: 'draft',
      total: d.steps.filter((s) => s.phase === p.id).length,
      completed: 0,
    })),
    failed_tasks: [],
    results: {},
    errors: {},
    error: null,
    started_at: null,
    finished_at: null,
  };
}

export function receiptView(r: Receipt) {
  return {
    id: r.id,
    task_id: r.itemId,
    seq: r.seq,
    status: r.status,
    timestamp_iso: r.timestamp_iso,
    executor_id: r.executorId,
    progress: r.progress,
    output: r.output,
    error: r.error,
    retry_count: r.retryCount,
    previous_receipt_hash: r.previousReceiptHash,
    receipt_hash: r.receiptHash,
  };
}

export function executorView(e: Executor) {
  return {
    id: e.id,
    capabilities: e.capabilities,
    concurrency: e.concurrency,
    busy: e.busy,
    registered_at: e.registeredAt,
    last_seen_at: e.lastSeenAt,
  };
}

export function logView(l: LogLine) {
  return { seq: l.seq, attempt: l.attempt, at: l.at, message: l.message };
}

export function webhookAttemptView(a: WebhookAttemptRecord) {
  return {
    attempt: a.attempt,
    webhook_id: a.webhookId,
    event_type: a.eventType,
    url: a.url,
    at: iso(a.at),
    status_code: a.statusCode,
    duration_ms: a.durationMs,
    outcome: a.outcome,
    error: a.error,
    delivery_task_id: a.deliveryId,
  };
}

/**
 * SSE event names of CONTRACT §6 for a log entry, or null for entries that have none
 * (rate-limit reschedules, budget usage, events sent to a workflow).
 */
export function sseEventName(e: ConveyorEvent): string | null {
  if (e.itemId === null) {
    if (e.type === 'workflow.created') return 'workflow_start';
    if (e.type !== 'workflow.updated') return null;
    const to = String(e.data.to);
    if (to === 'completed') return 'workflow_complete';
    if (to === 'failed') return 'workflow_failed';
    if (to === 'cancelled') return 'workflow_cancelled';
    return null;
  }
  const step = e.workflowId !== null;
  const to = typeof e.data.to === 'string' ? e.data.to : '';
  switch (e.type) {
    case 'item.enqueued':
      return to === 'queued' ? 'task_queued' : null;
    case 'item.queued':
    case 'item.released':
      return 'task_queued';
    case 'item.started':
      return step ? 'step_start' : 'task_start';
    case 'item.progress':
      return 'task_progress';
    case 'item.completed':
      return step ? 'step_complete' : 'task_complete';
    case 'item.failed':
      return step ? 'step_failed' : 'task_failed';
    case 'item.retried':
      return 'task_retry';
    case 'item.lease_expired':
      return to === 'failed' ? (step ? 'step_failed' : 'task_failed') : 'task_retry';
    // No event name of its own: a skipped task never ran, like a cancelled one (its data says skipped).
    case 'item.cancelled':
    case 'item.skipped':
      return 'task_cancelled';
    default:
      return null;
  }
}
