/**
 * @module routes/workflows
 * Workflows over HTTP, both ways CONTRACT §6 names: incremental (create a draft, add
 * phases, add tasks, start) and one-shot (`POST /api/workflows` with its steps and
 * `start: true`). A draft and the run it becomes share one id, so every read route works
 * on either; a draft reads as status `draft`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Conveyor } from '../../../client/conveyor.js';
import {
  draftStatusView,
  draftView,
  stepView,
  workflowStatusView,
  workflowSummaryView,
  workflowView,
} from '../../../client/views.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../core/errors.js';
import type { PhaseDefinition, StepDefinition } from '../../../workflow/definition-types.js';
import type { WorkflowDraft } from '../../../workflow/drafts.js';
import type { Workflow } from '../../../workflow/workflow-view.js';
import { WORKFLOW_STATUSES, type WorkflowStatus } from '../../../store/workflow-records.js';
import {
  createWorkflowBody,
  idParams,
  listWorkflowsQuery,
  phaseBody,
  workflowEventBody,
  workflowTaskBody,
} from '../schemas.js';
import { handlerOf, parseStatuses, type TaskFields } from './tasks.js';

interface PhaseBody {
  phase_id: string;
  name?: string;
  depends_on?: string[];
}

interface WorkflowTask extends TaskFields {
  id?: string;
  name: string;
  phase_id?: string;
  dependencies?: string[];
}

interface CreateWorkflow {
  id?: string;
  name: string;
  description?: string;
  input?: unknown;
  start?: boolean;
  webhook_url?: string;
  idempotency_key?: string;
  on_step_failure?: 'failFast' | 'continue';
  phases?: Array<Record<string, unknown>>;
  steps?: Array<Record<string, unknown>>;
  tasks?: WorkflowTask[];
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
function toPhase(p: Record<string, unknown>): PhaseDefinition {
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
  t: WorkflowTask,
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

export function workflowRoutes(app: FastifyInstance, cv: Conveyor, maxSteps: number): void {
  /** The run or the draft with this id, if it is the tenant's. */
  async function find(
    request: FastifyRequest,
    id: string,
  ): Promise<{ run?: Workflow; draft?: WorkflowDraft }> {
    try {
      const run = await cv.getWorkflow(id);
      if (run.tenant === request.tenant) return { run };
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
    const draft = await cv.drafts.get(id, { tenant: request.tenant });
    if (draft) return { draft };
    throw new NotFoundError('workflow', id, 'id');
  }

  app.post<{ Body: CreateWorkflow }>(
    '/api/workflows',
    {
      schema: {
        tags: ['workflows'],
        summary: 'Create a workflow: a draft (201), or started at once with start: true (202)',
        body: createWorkflowBody(maxSteps),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const tenant = request.tenant;
      const phases = (b.phases ?? []).map(toPhase);
      const steps = [...((b.steps ?? []) as unknown as StepDefinition[])];
      const names = new Map<string, string>();
      (b.tasks ?? []).forEach((t, i) => {
        const step = toStep(t, namesOf(steps, names), `tasks[${i}]`);
        names.set(step.id, t.name);
        steps.push(step);
      });
      if (steps.length > maxSteps)
        throw new ValidationError([
          { field: 'steps', message: `a workflow holds at most ${maxSteps} steps` },
        ]);
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
        return reply.code(202).send(workflowView(await cv.getWorkflow(run.id)));
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
      return reply.code(201).send(draftView(draft));
    },
  );

  app.get<{ Querystring: { status?: string; name?: string; limit?: number; cursor?: string } }>(
    '/api/workflows',
    {
      schema: {
        tags: ['workflows'],
        summary: 'List started workflows, newest first',
        querystring: listWorkflowsQuery,
      },
    },
    async (request) => {
      const q = request.query;
      const status = parseStatuses(q.status, WORKFLOW_STATUSES, 'query.status') as
        WorkflowStatus[] | undefined;
      const page = await cv.listWorkflows({
        tenant: request.tenant,
        ...(status !== undefined ? { status } : {}),
        ...(q.name !== undefined ? { name: q.name } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      });
      return { workflows: page.workflows.map(workflowSummaryView), next_cursor: page.nextCursor };
    },
  );

  app.post<{ Params: { id: string }; Body: PhaseBody }>(
    '/api/workflows/:id/phases',
    {
      schema: { tags: ['workflows'], summary: 'Add a phase (draft only)', params: idParams, body: phaseBody },
    },
    async (request, reply) => {
      const draft = await cv.drafts.addPhase(request.params.id, toPhase({ ...request.body }), {
        tenant: request.tenant,
      });
      return reply.code(201).send(draftView(draft));
    },
  );

  app.post<{ Params: { id: string }; Body: WorkflowTask }>(
    '/api/workflows/:id/tasks',
    {
      schema: {
        tags: ['workflows'],
        summary: 'Add a task (draft only)',
        params: idParams,
        body: workflowTaskBody,
      },
    },
    async (request, reply) => {
      const { run, draft } = await find(request, request.params.id);
      if (run || !draft)
        throw new ConflictError(`workflow ${request.params.id} has started; only a draft can change`, {
          field: 'id',
        });
      const known = draft.steps.map((s) => ({ id: s.id, name: s.id }));
      const step = toStep(request.body, known, '');
      const next = await cv.drafts.addStep(draft.id, step, { tenant: request.tenant });
      return reply.code(201).send({ task_id: step.id, workflow: draftView(next) });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/workflows/:id/start',
    { schema: { tags: ['workflows'], summary: 'Start a draft', params: idParams } },
    async (request, reply) => {
      const { run } = await find(request, request.params.id);
      if (run)
        throw new ConflictError(`workflow ${run.id} has started already`, {
          field: 'id',
          status: run.status,
        });
      await cv.drafts.start(request.params.id, { tenant: request.tenant });
      return reply.code(202).send(workflowView(await cv.getWorkflow(request.params.id)));
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/workflows/:id/cancel',
    { schema: { tags: ['workflows'], summary: 'Cancel every unfinished task', params: idParams } },
    async (request) => {
      const { run } = await find(request, request.params.id);
      if (!run)
        throw new ConflictError(`workflow ${request.params.id} is a draft: nothing runs yet`, {
          field: 'id',
        });
      return workflowView(await cv.cancelWorkflow(run.id, { reason: 'cancelled over HTTP' }));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/workflows/:id',
    { schema: { tags: ['workflows'], summary: 'The definition and state', params: idParams } },
    async (request) => {
      const { run, draft } = await find(request, request.params.id);
      return run ? workflowView(run) : draftView(draft!);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/workflows/:id/status',
    {
      schema: {
        tags: ['workflows'],
        summary: 'Progress: phase statuses, counts, failed tasks, results, errors',
        params: idParams,
      },
    },
    async (request) => {
      const { run, draft } = await find(request, request.params.id);
      return run ? workflowStatusView(run) : draftStatusView(draft!);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/workflows/:id/tasks',
    { schema: { tags: ['workflows'], summary: 'The tasks (steps) and their state', params: idParams } },
    async (request) => {
      const { run, draft } = await find(request, request.params.id);
      return {
        workflow_id: request.params.id,
        tasks: run ? run.steps.map(stepView) : draftView(draft!).tasks,
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { name: string; payload?: unknown } }>(
    '/api/workflows/:id/events',
    {
      schema: {
        tags: ['workflows'],
        summary: 'Send an event; steps waiting for its name complete with its payload',
        params: idParams,
        body: workflowEventBody,
      },
    },
    async (request, reply) => {
      const { run } = await find(request, request.params.id);
      if (!run)
        throw new ConflictError(`workflow ${request.params.id} is a draft: start it first`, { field: 'id' });
      const sent = await cv.sendEvent(run.id, request.body.name, request.body.payload ?? null);
      return reply.code(202).send({ event_id: sent.eventId });
    },
  );
}
