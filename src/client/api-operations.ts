/**
 * @module api-operations
 * What the HTTP API and the MCP tools do, in the API's terms (snake_case fields, tasks
 * named by people, the seed's agent tasks), mapped onto the library: one implementation,
 * so the two surfaces cannot drift apart. Everything here acts as one tenant: another
 * tenant's objects are NOT_FOUND, exactly like ones that do not exist.
 */
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import type { JsonValue, WorkItem } from '../core/types.js';
import type { EnqueueInput } from '../engine/validation.js';
import type { PhaseDefinition, StepDefinition } from '../workflow/definition-types.js';
import type { WorkflowDraft } from '../workflow/drafts.js';
import type { Workflow } from '../workflow/workflow-view.js';
import type { Conveyor } from './conveyor.js';

export interface TaskFields {
  name?: string | undefined;
  type?: string | undefined;
  agent_name?: string | undefined;
  payload?: unknown;
  agent_instructions?: string | undefined;
  priority?: number | 'low' | 'normal' | 'high' | 'critical' | undefined;
  timeout_seconds?: number | undefined;
  max_retries?: number | undefined;
  required_capabilities?: string[] | undefined;
}

export interface CreateTaskBody extends TaskFields {
  queue?: string | undefined;
  webhook_url?: string | undefined;
  dependencies?: string[] | undefined;
  idempotency_key?: string | undefined;
  delay_seconds?: number | undefined;
  budget?: Record<string, number> | undefined;
  backoff?:
    | { type?: 'exponential' | 'fixed' | 'linear'; base_ms?: number; max_ms?: number; jitter?: number }
    | undefined;
}

/**
 * `type` or `agent_name` (the seed's agent tasks: the agent is the handler type, its
 * instructions the payload), and `payload` or `agent_instructions`; not both of a pair.
 */
export function handlerOf(body: TaskFields, prefix = ''): { type: string; payload: JsonValue } {
  if (body.type !== undefined && body.agent_name !== undefined)
    throw new ValidationError([
      { field: `${prefix}agent_name`, message: 'give type or agent_name, not both' },
    ]);
  const type = body.type ?? body.agent_name;
  if (type === undefined)
    throw new ValidationError([{ field: `${prefix}type`, message: 'is required (or agent_name)' }]);
  if (body.payload !== undefined && body.agent_instructions !== undefined)
    throw new ValidationError([
      { field: `${prefix}agent_instructions`, message: 'give payload or agent_instructions, not both' },
    ]);
  const payload =
    body.agent_instructions !== undefined
      ? { instructions: body.agent_instructions, ...(body.agent_name ? { agent: body.agent_name } : {}) }
      : (body.payload ?? {});
  return { type, payload: payload as JsonValue };
}

const ms = (seconds: number) => Math.max(1, Math.round(seconds * 1000));

export function toEnqueue(body: CreateTaskBody, tenant: string): EnqueueInput {
  const { type, payload } = handlerOf(body);
  const b = body.backoff;
  return {
    type,
    payload,
    tenant,
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.priority !== undefined ? { priority: body.priority } : {}),
    ...(body.queue !== undefined ? { queue: body.queue } : {}),
    ...(body.webhook_url !== undefined ? { webhookUrl: body.webhook_url } : {}),
    ...(body.idempotency_key !== undefined ? { idempotencyKey: body.idempotency_key } : {}),
    ...(body.delay_seconds !== undefined ? { delayMs: Math.round(body.delay_seconds * 1000) } : {}),
    ...(body.budget !== undefined ? { budget: body.budget } : {}),
    constraints: {
      ...(body.timeout_seconds !== undefined ? { maxDurationMs: ms(body.timeout_seconds) } : {}),
      ...(body.max_retries !== undefined ? { maxRetries: body.max_retries } : {}),
      ...(body.required_capabilities !== undefined
        ? { requiredCapabilities: body.required_capabilities }
        : {}),
      ...(body.dependencies !== undefined ? { dependencies: body.dependencies } : {}),
      ...(b !== undefined
        ? {
            backoff: {
              ...(b.type !== undefined ? { type: b.type } : {}),
              ...(b.base_ms !== undefined ? { baseMs: b.base_ms } : {}),
              ...(b.max_ms !== undefined ? { maxMs: b.max_ms } : {}),
              ...(b.jitter !== undefined ? { jitter: b.jitter } : {}),
            },
          }
        : {}),
    },
  };
}

/** The task if it is the tenant's; NOT_FOUND otherwise (never "it exists but is not yours"). */
export async function ownTask(cv: Conveyor, tenant: string, id: string): Promise<WorkItem> {
  const task = await cv.getWorkItem(id);
  if (task.tenant !== tenant) throw new NotFoundError('work item', id, 'id');
  return task;
}

export function parseStatuses(
  csv: string | undefined,
  allowed: readonly string[],
  field: string,
): string[] | undefined {
  if (csv === undefined) return undefined;
  const list = csv.split(',').filter((s) => s !== '');
  const bad = list.find((s) => !allowed.includes(s));
  if (bad !== undefined)
    throw new ValidationError([
      { field, message: `${JSON.stringify(bad)} is not one of ${allowed.join(', ')}` },
    ]);
  return list;
}

export interface PhaseBody {
  phase_id: string;
  name?: string | undefined;
  depends_on?: string[] | undefined;
}

export interface WorkflowTaskBody extends TaskFields {
  id?: string | undefined;
  name: string;
  phase_id?: string | undefined;
  dependencies?: string[] | undefined;
}

export interface CreateWorkflowBody {
  id?: string | undefined;
  name: string;
  description?: string | undefined;
  input?: unknown;
  start?: boolean | undefined;
  webhook_url?: string | undefined;
  idempotency_key?: string | undefined;
  on_step_failure?: 'failFast' | 'continue' | undefined;
  phases?: Array<Record<string, unknown>> | undefined;
  steps?: Array<Record<string, unknown>> | undefined;
  tasks?: WorkflowTaskBody[] | undefined;
}

/** `Build API` → `build-api`: a step id (letters, digits, _ and -) from a task's name. */
function slug(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase()
    .slice(0, 90);
  return s || 'task';
}

/** A phase in the seed's form (`phase_id`, `depends_on`) or the definition's (`id`, `dependsOn`). */
export function toPhase(p: Record<string, unknown>): PhaseDefinition {
  if ('phase_id' in p || 'depends_on' in p) {
    const b = p as unknown as PhaseBody;
    return {
      id: b.phase_id,
      ...(b.name !== undefined ? { name: b.name } : {}),
      ...(b.depends_on !== undefined ? { dependsOn: b.depends_on } : {}),
    };
  }
  return p as unknown as PhaseDefinition;
}

/** A task in the seed's form → a step; its dependencies may name earlier steps by id or by name. */
function toStep(
  t: WorkflowTaskBody,
  existing: ReadonlyArray<{ id: string; name: string }>,
  field: string,
): StepDefinition {
  const prefix = field === '' ? '' : `${field}.`;
  const { type, payload } = handlerOf(t, prefix);
  let id = t.id ?? slug(t.name);
  if (t.id === undefined) for (let n = 2; existing.some((s) => s.id === id); n++) id = `${slug(t.name)}-${n}`;
  const deps = (t.dependencies ?? []).map((d) => {
    // By id, by name, or by the id a name gets (names given to earlier requests are not kept).
    const hit =
      existing.find((s) => s.id === d) ??
      existing.find((s) => s.name === d) ??
      existing.find((s) => s.id === slug(d));
    if (!hit)
      throw new ValidationError([
        {
          field: `${prefix}dependencies`,
          message: `no task ${JSON.stringify(d)} in the workflow (add it first)`,
        },
      ]);
    return hit.id;
  });
  return {
    id,
    type,
    input: payload,
    ...(t.phase_id !== undefined ? { phase: t.phase_id } : {}),
    ...(deps.length > 0 ? { deps } : {}),
    ...(t.priority !== undefined ? { priority: t.priority } : {}),
    ...(t.timeout_seconds !== undefined
      ? { timeoutMs: Math.max(1, Math.round(t.timeout_seconds * 1000)) }
      : {}),
    ...(t.max_retries !== undefined ? { retry: { maxRetries: t.max_retries } } : {}),
    ...(t.required_capabilities !== undefined ? { requiredCapabilities: t.required_capabilities } : {}),
  };
}

/** Names of a draft's steps, for dependencies given by name (the step's input may hold it). */
const namesOf = (steps: StepDefinition[], names: Map<string, string>) =>
  steps.map((s) => ({ id: s.id, name: names.get(s.id) ?? s.id }));

/** The run or the draft with this id, if it is the tenant's; NOT_FOUND otherwise. */
export async function findWorkflow(
  cv: Conveyor,
  tenant: string,
  id: string,
): Promise<{ run?: Workflow; draft?: WorkflowDraft }> {
  try {
    const run = await cv.getWorkflow(id);
    if (run.tenant === tenant) return { run };
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  const draft = await cv.drafts.get(id, { tenant });
  if (draft) return { draft };
  throw new NotFoundError('workflow', id, 'id');
}

/**
 * `POST /api/workflows` and MCP's `invoke_async`: with `start`, a run at once; else a draft
 * holding the given phases and tasks (checked as if added one by one, all or nothing).
 */
export async function createWorkflow(
  cv: Conveyor,
  tenant: string,
  b: CreateWorkflowBody,
  maxSteps: number,
): Promise<{ run: Workflow } | { draft: WorkflowDraft }> {
  const phases = (b.phases ?? []).map(toPhase);
  const steps = [...((b.steps ?? []) as unknown as StepDefinition[])];
  const names = new Map<string, string>();
  (b.tasks ?? []).forEach((t, i) => {
    const step = toStep(t, namesOf(steps, names), `tasks[${i}]`);
    names.set(step.id, t.name);
    steps.push(step);
  });
  if (steps.length > maxSteps)
    throw new ValidationError([{ field: 'steps', message: `a workflow holds at most ${maxSteps} steps` }]);
  if (b.start) {
    const definition = {
      name: b.name,
      ...(b.description !== undefined ? { description: b.description } : {}),
      ...(b.on_step_failure !== undefined ? { onStepFailure: b.on_step_failure } : {}),
      ...(phases.length > 0 ? { phases } : {}),
      steps,
    };
    const run = await cv.startWorkflow(definition, b.input ?? {}, {
      tenant,
      ...(b.id !== undefined ? { id: b.id } : {}),
      ...(b.webhook_url !== undefined ? { webhookUrl: b.webhook_url } : {}),
      ...(b.idempotency_key !== undefined ? { idempotencyKey: b.idempotency_key } : {}),
    });
    return { run: await cv.getWorkflow(run.id) };
  }
  if (b.idempotency_key !== undefined)
    throw new ValidationError([
      { field: 'idempotency_key', message: 'applies to started workflows (start: true)' },
    ]);
  const draft = await cv.drafts.create({
    name: b.name,
    tenant,
    phases,
    steps,
    ...(b.id !== undefined ? { id: b.id } : {}),
    ...(b.description !== undefined ? { description: b.description } : {}),
    ...(b.input !== undefined ? { input: b.input } : {}),
    ...(b.webhook_url !== undefined ? { webhookUrl: b.webhook_url } : {}),
    ...(b.on_step_failure !== undefined ? { onStepFailure: b.on_step_failure } : {}),
  });
  return { draft };
}

/** Adds a task (the seed's form) to a draft; its id comes from its name. */
export async function addWorkflowTask(
  cv: Conveyor,
  tenant: string,
  id: string,
  body: WorkflowTaskBody,
): Promise<{ taskId: string; draft: WorkflowDraft }> {
  const { run, draft } = await findWorkflow(cv, tenant, id);
  if (run || !draft)
    throw new ConflictError(`workflow ${id} has started; only a draft can change`, { field: 'id' });
  const known = draft.steps.map((s) => ({ id: s.id, name: s.id }));
  const step = toStep(body, known, '');
  return { taskId: step.id, draft: await cv.drafts.addStep(draft.id, step, { tenant }) };
}

/** Starts a draft; CONFLICT when it has started already. */
export async function startWorkflowDraft(cv: Conveyor, tenant: string, id: string): Promise<Workflow> {
  const { run } = await findWorkflow(cv, tenant, id);
  if (run)
    throw new ConflictError(`workflow ${run.id} has started already`, { field: 'id', status: run.status });
  await cv.drafts.start(id, { tenant });
  return cv.getWorkflow(id);
}
