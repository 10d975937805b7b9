/**
 * @module routes/tasks
 * Tasks (work items) over HTTP: create, list, get, cancel, retry, logs and receipts. Every
 * route acts as the request's tenant: another tenant's task answers 404, exactly as one
 * that does not exist.
 */
import type { FastifyInstance } from 'fastify';
import type { Conveyor } from '../../../client/conveyor.js';
import { receiptView, taskView, logView } from '../../../client/views.js';
import { ITEM_STATUSES, type ItemStatus } from '../../../core/item-state.js';
import { ownTask, parseStatuses, toEnqueue, type CreateTaskBody } from '../../../client/api-operations.js';
import { createTaskBody, idParams, limitQuery, listTasksQuery } from '../schemas.js';

export function taskRoutes(app: FastifyInstance, cv: Conveyor): void {
  app.post<{ Body: CreateTaskBody }>(
    '/api/tasks',
    { schema: { tags: ['tasks'], summary: 'Create a task', body: createTaskBody } },
    async (request, reply) => {
      const task = await cv.enqueueWorkItem(toEnqueue(request.body, request.tenant));
      return reply.code(201).send(taskView(task));
    },
  );

  app.get<{
    Querystring: {
      status?: string;
      type?: string;
      queue?: string;
      workflow_id?: string;
      limit?: number;
      cursor?: string;
    };
  }>(
    '/api/tasks',
    { schema: { tags: ['tasks'], summary: 'List tasks, newest first', querystring: listTasksQuery } },
    async (request) => {
      const q = request.query;
      const status = parseStatuses(q.status, ITEM_STATUSES, 'query.status') as ItemStatus[] | undefined;
      const page = await cv.listWorkItems({
        tenant: request.tenant,
        ...(status !== undefined ? { status } : {}),
        ...(q.type !== undefined ? { type: q.type } : {}),
        ...(q.queue !== undefined ? { queue: q.queue } : {}),
        ...(q.workflow_id !== undefined ? { workflowId: q.workflow_id } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      });
      return { tasks: page.items.map(taskView), next_cursor: page.nextCursor };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/tasks/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'A task: status, result, error, progress, attempts',
        params: idParams,
      },
    },
    async (request) => taskView(await ownTask(cv, request.tenant, request.params.id)),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/tasks/:id',
    { schema: { tags: ['tasks'], summary: 'Cancel a task (409 once it has finished)', params: idParams } },
    async (request) => {
      await ownTask(cv, request.tenant, request.params.id);
      await cv.cancelWorkItem(request.params.id, null, { reason: 'cancelled over HTTP' });
      return taskView(await cv.getWorkItem(request.params.id));
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/tasks/:id/retry',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Run a failed or cancelled task again, as a new task whose retry_of names it',
        params: idParams,
      },
    },
    async (request, reply) => {
      await ownTask(cv, request.tenant, request.params.id);
      return reply.code(201).send(taskView(await cv.retryWorkItem(request.params.id)));
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>(
    '/api/tasks/:id/logs',
    {
      schema: { tags: ['tasks'], summary: 'Execution log lines', params: idParams, querystring: limitQuery },
    },
    async (request) => {
      await ownTask(cv, request.tenant, request.params.id);
      const lines = await cv.getWorkItemLogs(request.params.id, { limit: request.query.limit ?? 1000 });
      return { task_id: request.params.id, logs: lines.map(logView) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/tasks/:id/receipts',
    { schema: { tags: ['tasks'], summary: 'The receipt chain, verified', params: idParams } },
    async (request) => {
      await ownTask(cv, request.tenant, request.params.id);
      const [receipts, check] = await Promise.all([
        cv.getWorkItemReceipts(request.params.id),
        cv.verifyReceipts(request.params.id),
      ]);
      return {
        task_id: request.params.id,
        valid: check.valid,
        count: check.count,
        first_broken_seq: check.firstBrokenSeq,
        reason: check.reason,
        receipts: receipts.map(receiptView),
      };
    },
  );
}
