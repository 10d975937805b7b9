/**
 * @module routes/executors
 * Remote executors in any language: register with capabilities, claim tasks (queued →
 * running under a lease), then report start, progress, heartbeats, completion or failure.
 * Reports carry the task's `lease_token` so a late report from an executor that lost its
 * lease is refused (409 LEASE_LOST) instead of overwriting the work of the one that has it.
 *
 * With API keys configured, executor ids belong to their tenant: `worker-1` of tenant
 * `acme` is stored as `acme/worker-1` (what tasks show as `executor_id`), so two tenants'
 * executors never share an id and a claim takes only its own tenant's tasks.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Conveyor } from '../../../client/conveyor.js';
import { executorView, receiptView, taskView } from '../../../client/views.js';
import type { Receipt } from '../../../core/types.js';
import {
  claimBody,
  completeBody,
  executorBody,
  failBody,
  idParams,
  progressBody,
  startBody,
} from '../schemas.js';
import { ownTask } from '../../../client/api-operations.js';

type ErrorInput = string | { message: string; code?: string };

export function executorRoutes(app: FastifyInstance, cv: Conveyor, namespaced: boolean): void {
  const executorId = (request: FastifyRequest, id: string) => (namespaced ? `${request.tenant}/${id}` : id);
  const receipt = (r: Receipt) => ({ receipt: receiptView(r) });

  app.post<{ Body: { id: string; capabilities?: string[]; concurrency?: number } }>(
    '/api/executors',
    {
      schema: { tags: ['executors'], summary: 'Register (or update) a remote executor', body: executorBody },
    },
    async (request, reply) => {
      const b = request.body;
      const e = await cv.registerExecutor(executorId(request, b.id), {
        ...(b.capabilities !== undefined ? { capabilities: b.capabilities } : {}),
        ...(b.concurrency !== undefined ? { concurrency: b.concurrency } : {}),
      });
      return reply.code(201).send(executorView(e));
    },
  );

  app.post<{
    Params: { id: string };
    Body: { types?: string[]; queues?: string[]; limit?: number; lease_seconds?: number } | undefined;
  }>(
    '/api/executors/:id/claim',
    {
      schema: {
        tags: ['executors'],
        summary: 'Claim up to `limit` queued tasks this executor can run',
        params: idParams,
        body: claimBody,
      },
    },
    async (request) => {
      const b = request.body ?? {};
      const tasks = await cv.claimWorkItems(executorId(request, request.params.id), {
        tenant: request.tenant,
        ...(b.types !== undefined ? { types: b.types } : {}),
        ...(b.queues !== undefined ? { queues: b.queues } : {}),
        ...(b.limit !== undefined ? { limit: b.limit } : {}),
        ...(b.lease_seconds !== undefined ? { leaseMs: b.lease_seconds * 1000 } : {}),
      });
      return { tasks: tasks.map(taskView) };
    },
  );

  app.post<{ Params: { id: string }; Body: { executor_id: string } }>(
    '/api/tasks/:id/start',
    {
      schema: {
        tags: ['executors'],
        summary: 'Assign a queued task to an executor (when not claimed) and start it',
        params: idParams,
        body: startBody,
      },
    },
    async (request) => {
      const task = await ownTask(cv, request.tenant, request.params.id);
      const executor = executorId(request, request.body.executor_id);
      if (task.status === 'queued') await cv.assignWorkItem(task.id, executor);
      return receipt(await cv.startExecution(task.id, executor));
    },
  );

  app.post<{ Params: { id: string }; Body: { executor_id: string; percent: number; message?: string } }>(
    '/api/tasks/:id/progress',
    {
      schema: {
        tags: ['executors'],
        summary: 'Report progress (renews the lease)',
        params: idParams,
        body: progressBody,
      },
    },
    async (request) => {
      await ownTask(cv, request.tenant, request.params.id);
      const b = request.body;
      return receipt(
        await cv.reportProgress(request.params.id, executorId(request, b.executor_id), b.percent, b.message),
      );
    },
  );

  app.post<{ Params: { id: string }; Body: { executor_id: string } }>(
    '/api/tasks/:id/heartbeat',
    {
      schema: {
        tags: ['executors'],
        summary: 'Renew the lease without reporting progress',
        params: idParams,
        body: startBody,
      },
    },
    async (request) => {
      await ownTask(cv, request.tenant, request.params.id);
      await cv.heartbeat(request.params.id, executorId(request, request.body.executor_id));
      return taskView(await cv.getWorkItem(request.params.id));
    },
  );

  app.post<{
    Params: { id: string };
    Body: { executor_id: string; lease_token?: number; result?: unknown; usage?: Record<string, number> };
  }>(
    '/api/tasks/:id/complete',
    {
      schema: {
        tags: ['executors'],
        summary: 'Complete a task with its result',
        params: idParams,
        body: completeBody,
      },
    },
    async (request) => {
      await ownTask(cv, request.tenant, request.params.id);
      const b = request.body;
      return receipt(
        await cv.completeWorkItem(request.params.id, executorId(request, b.executor_id), {
          output: b.result ?? null,
          ...(b.usage !== undefined ? { usage: b.usage } : {}),
          ...(b.lease_token !== undefined ? { leaseToken: b.lease_token } : {}),
        }),
      );
    },
  );

  app.post<{
    Params: { id: string };
    Body: {
      executor_id: string;
      lease_token?: number;
      error: ErrorInput;
      retryable?: boolean;
      retry_after_seconds?: number;
    };
  }>(
    '/api/tasks/:id/fail',
    {
      schema: {
        tags: ['executors'],
        summary: 'Fail an attempt (retried per the task’s policy unless retryable is false)',
        params: idParams,
        body: failBody,
      },
    },
    async (request) => {
      await ownTask(cv, request.tenant, request.params.id);
      const b = request.body;
      return receipt(
        await cv.failWorkItem(request.params.id, executorId(request, b.executor_id), {
          error: b.error,
          ...(b.retryable !== undefined ? { retryable: b.retryable } : {}),
          ...(b.retry_after_seconds !== undefined
            ? { retryAfterMs: Math.round(b.retry_after_seconds * 1000) }
            : {}),
          ...(b.lease_token !== undefined ? { leaseToken: b.lease_token } : {}),
        }),
      );
    },
  );

  app.get(
    '/api/executors',
    { schema: { tags: ['executors'], summary: 'Registered executors' } },
    async (request) => {
      const all = await cv.listExecutors();
      const mine = namespaced ? all.filter((e) => e.id.startsWith(`${request.tenant}/`)) : all;
      return { executors: mine.map(executorView) };
    },
  );
}
