/**
 * @module workflow-view
 * A run as the library returns it (CONTRACT §5): plain JSON with ISO times, its steps with
 * their state, and `results` / `errors` keyed by step id. Built from the workflow row and
 * the items of its steps; map children are summarised in their step.
 */
import type { ItemError } from '../core/errors.js';
import type { ItemStatus } from '../core/item-state.js';
import type { JsonValue } from '../core/types.js';
import type { ItemRecord } from '../store/records.js';
import type { StepOutcome, WorkflowRecord, WorkflowStatus } from '../store/workflow-records.js';
import type { RunSpec } from './orchestrator.js';
import type { PhaseDefinition } from './definition-types.js';

export interface WorkflowStep {
  id: string;
  /** The handler it runs (its fallback's, once the fallback took over). */
  type: string;
  phase: string | null;
  deps: string[];
  status: ItemStatus;
  itemId: string;
  attempts: number;
  /** 0–100: the step's item's last reported progress (100 once completed). */
  progress: number;
  output: JsonValue | null;
  error: ItemError | null;
  /** True once the step's fallback took over. */
  fallback: boolean;
  /** A map step: how many children there are and how many finished or failed. */
  map: { total: number; finished: number; failed: number } | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Workflow {
  id: string;
  name: string;
  description: string | null;
  status: WorkflowStatus;
  tenant: string;
  input: JsonValue;
  phases: PhaseDefinition[];
  steps: WorkflowStep[];
  results: Record<string, JsonValue>;
  errors: Record<string, string>;
  /** 0–100: finished steps, with map steps counted by their finished children. */
  progress: number;
  error: ItemError | null;
  webhookUrl: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A run in a list: everything but its input, its definition's phases and its steps. */
export type WorkflowSummary = Omit<
  Workflow,
  'description' | 'input' | 'phases' | 'steps' | 'results' | 'errors'
>;

/** What `waitForWorkflow` resolves to. */
export interface WorkflowResult {
  id: string;
  status: WorkflowStatus;
  results: Record<string, JsonValue>;
  errors: Record<string, string>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function progressOf(w: WorkflowRecord): number {
  const c = w.counters;
  if (c.steps === 0) return 100;
  let done = c.finished;
  for (const m of Object.values(c.maps))
    if (m.total > 0 && m.finished < m.total) done += m.finished / m.total;
  return Math.round((Math.min(done, c.steps) / c.steps) * 1000) / 10;
}

export function toWorkflowSummary(w: WorkflowRecord): WorkflowSummary {
  return {
    id: w.id,
    name: w.name,
    status: w.status,
    tenant: w.tenant,
    progress: progressOf(w),
    error: w.error,
    webhookUrl: w.webhookUrl,
    createdAt: iso(w.createdAt)!,
    startedAt: iso(w.startedAt),
    finishedAt: iso(w.finishedAt),
  };
}

/**
 * `results` and `errors` of a run, in the order of its definition's steps: a completed
 * step's output, another's error message (a step not created yet has neither).
 */
function outcomesOf(
  spec: RunSpec,
  outcomes: readonly Pick<ItemRecord, 'stepId' | 'status' | 'output' | 'error'>[],
): Pick<WorkflowResult, 'results' | 'errors'> {
  const byStep = new Map(outcomes.map((o) => [o.stepId, o]));
  const results: Record<string, JsonValue> = {};
  const errors: Record<string, string> = {};
  for (const def of spec.compiled.definition.steps) {
    const o = byStep.get(def.id);
    if (o?.status === 'completed') results[def.id] = o.output;
    else if (o?.error) errors[def.id] = o.error.message;
  }
  return { results, errors };
}

/** A finished run's result from its row and its steps' outcomes, without the rest of them. */
export const toWorkflowResultOf = (
  w: WorkflowRecord,
  outcomes: StepOutcome[],
  spec: RunSpec,
): WorkflowResult => ({
  id: w.id,
  status: w.status,
  ...outcomesOf(spec, outcomes),
});

export function toWorkflow(w: WorkflowRecord, items: ItemRecord[], spec: RunSpec): Workflow {
  const { compiled } = spec;
  const definition = compiled.definition;
  const byStep = new Map(items.map((i) => [i.stepId, i]));
  const steps = definition.steps.flatMap((def): WorkflowStep[] => {
    const item = byStep.get(def.id);
    if (!item) return [];
    const m = w.counters.maps[def.id];
    return [
      {
        id: def.id,
        type: item.type,
        phase: def.phase ?? null,
        deps: compiled.steps.get(def.id)?.deps ?? [],
        status: item.status,
        itemId: item.id,
        attempts: item.attempts,
        progress: item.progress,
        output: item.output,
        error: item.error,
        fallback: item.policies?.fallback === true,
        map: m ? { total: m.total, finished: m.finished, failed: m.failed } : null,
        startedAt: iso(item.startedAt),
        finishedAt: iso(item.finishedAt),
      },
    ];
  });
  return {
    ...toWorkflowSummary(w),
    description: definition.description ?? null,
    input: spec.input,
    phases: definition.phases ?? [],
    steps,
    ...outcomesOf(spec, items),
  };
}
