/**
 * @module routes/workflows
 * Workflows over HTTP, both ways CONTRACT §6 names: incremental (create a draft, add
 * phases, add tasks, start) and one-shot (`POST /api/workflows` with its steps and
 * `start: true`). A draft and the run it becomes share one id, so every read route works
 * on either; a draft reads as status `draft`.
 */
import type { FastifyInstance } from 'fastify';
import {
  addWorkflowTask,
  createWorkflow,
  findWorkflow,
  parseStatuses,
  startWorkflowDraft,
  toPhase,
  type CreateWorkflowBody,
  type PhaseBody,
  type WorkflowTaskBody,
} from '../../../client/api-operations.js';
import type { Conveyor } from '../../../client/conveyor.js';
import {
  draftStatusView,
  draftView,
  stepView,
  workflowStatusView,
  workflowSummaryView,
  workflowView,
} from '../../../client/views.js';
import { ConflictError } from '../../../core/errors.js';
import { WORKFLOW_STATUSES, type WorkflowStatus } from '../../../store/workflow-records.js';
import {
  createWorkflowBody,
  idParams,
  listWorkflowsQuery,
  phaseBody,
  workflowEventBody,
  workflowTaskBody,
} from '../schemas.js';

export function workflowRoutes(app: FastifyInstance, cv: Conveyor, maxSteps: number): void {
  app.post<{ Body: CreateWorkflowBody }>(
    '/api/workflows',
    {
      schema: {
        tags: ['workflows'],
        summary: 'Create a workflow: a draft (201), or started at once with start: true (202)',
        body: createWorkflowBody(maxSteps),
      },
    },
    async (request, reply) => {
      const made = await createWorkflow(cv, request.tenant, request.body, maxSteps);
      return 'run' in made
        ? reply.code(202).send(workflowView(made.run))
        : reply.code(201).send(draftView(made.draft));
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

  app.post<{ Params: { id: string }; Body: WorkflowTaskBody }>(
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
      const added = await addWorkflowTask(cv, request.tenant, request.params.id, request.body);
      return reply.code(201).send({ task_id: added.taskId, workflow: draftView(added.draft) });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/workflows/:id/start',
    { schema: { tags: ['workflows'], summary: 'Start a draft', params: idParams } },
    async (request, reply) => {
      return reply
        .code(202)
        .send(workflowView(await startWorkflowDraft(cv, request.tenant, request.params.id)));
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/workflows/:id/cancel',
    { schema: { tags: ['workflows'], summary: 'Cancel every unfinished task', params: idParams } },
    async (request) => {
      const { run } = await findWorkflow(cv, request.tenant, request.params.id);
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
      const { run, draft } = await findWorkflow(cv, request.tenant, request.params.id);
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
      const { run, draft } = await findWorkflow(cv, request.tenant, request.params.id);
      return run ? workflowStatusView(run) : draftStatusView(draft!);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/workflows/:id/tasks',
    { schema: { tags: ['workflows'], summary: 'The tasks (steps) and their state', params: idParams } },
    async (request) => {
      const { run, draft } = await findWorkflow(cv, request.tenant, request.params.id);
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
      const { run } = await findWorkflow(cv, request.tenant, request.params.id);
      if (!run)
        throw new ConflictError(`workflow ${request.params.id} is a draft: start it first`, { field: 'id' });
      const sent = await cv.sendEvent(run.id, request.body.name, request.body.payload ?? null);
      return reply.code(202).send({ event_id: sent.eventId });
    },
  );
}
