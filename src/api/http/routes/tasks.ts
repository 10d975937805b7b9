/**
 * @module routes/tasks
 * Tasks (work items) over HTTP: create, list, get, cancel, retry, logs and receipts. Every
 * route acts as the request's tenant: another tenant's task answers 404, exactly as one
 * that does not exist.
 */
import type { FastifyInstance } from 'fastify';
import type { Conveyor } from '../../../client/conveyor.js';
import { receiptView, taskView, logView } from '../../../client/views.js';
import { NotFoundError, ValidationError } from '../../../core/errors.js';
import { ITEM_STATUSES, type ItemStatus } from '../../../core/item-state.js';
import type { JsonValue, WorkItem } from '../../../core/types.js';
import type { EnqueueInput } from '../../../engine/validation.js';
import { createTaskBody, idParams, limitQuery, listTasksQuery } from '../schemas.js';

export interface TaskFields {
  name?: string;
  type?: string;
  agent_name?: string;
  payload?: unknown;
  agent_instructions?: string;
  priority?: number | 'low' | 'normal' | 'high' | 'critical';
  timeout_seconds?: number;
  max_retries?: number;
  required_capabilities?: string[];
}

interface CreateTask extends TaskFields {
  queue?: string;
  webhook_url?: string;
  dependencies?: string[];
  idempotency_key?: string;
  delay_seconds?: number;
  budget?: Record<string, number>;
  backoff?: { type?: 'exponential' | 'fixed' | 'linear'; base_ms?: number; max_ms?: number; jitter?: number };
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

function toEnqueue(body: CreateTask, tenant: string): EnqueueInput {
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

export function taskRoutes(app: FastifyInstance, cv: Conveyor): void {
  app.post<{ Body: CreateTask }>(
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
