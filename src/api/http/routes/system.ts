/**
 * @module routes/system
 * Health, Prometheus metrics, the event stream (SSE) and webhook delivery history.
 */
import type { FastifyInstance } from 'fastify';
import type { Conveyor } from '../../../client/conveyor.js';
import { webhookAttemptView } from '../../../client/views.js';
import { NotFoundError } from '../../../core/errors.js';
import type { ServiceMetrics } from '../metrics.js';
import type { QueueDepthSampler } from '../queue-depth.js';
import { eventsQuery, limitQuery, taskIdParams } from '../schemas.js';
import { streamEvents } from '../sse.js';

/** A read that answers NOT_FOUND becomes null; any other error stays an error. */
const notFoundAsNull = (e: unknown): null => {
  if (e instanceof NotFoundError) return null;
  throw e;
};

export function systemRoutes(
  app: FastifyInstance,
  cv: Conveyor,
  metrics: ServiceMetrics,
  depth: QueueDepthSampler,
  heartbeatSeconds: number,
): void {
  app.get(
    '/health',
    { schema: { tags: ['system'], summary: 'Liveness and store reachability' } },
    async (_r, reply) => {
      try {
        const counts = await cv.getCounts();
        return { status: 'ok', store: { backend: cv.backend, reachable: true }, queued: counts.queued };
      } catch (e) {
        return reply.code(503).send({
          status: 'unavailable',
          store: { backend: cv.backend, reachable: false, error: e instanceof Error ? e.message : String(e) },
        });
      }
    },
  );

  app.get('/metrics', { schema: { tags: ['system'], summary: 'Prometheus metrics' } }, async (_r, reply) => {
    const text = await metrics.text();
    return reply.type(metrics.contentType).send(text);
  });

  app.get(
    '/api/stats/queue',
    {
      schema: {
        tags: ['system'],
        summary: "This tenant's item counts by status now, and sampled over the last hour (oldest first)",
      },
    },
    async (request) => {
      const counts = await cv.getCounts({ tenant: request.tenant });
      return {
        interval_ms: depth.intervalMs,
        now: { at: new Date().toISOString(), counts },
        samples: depth.samples(request.tenant),
      };
    },
  );

  /** Whether `id` names a task or a workflow (or a draft) of `tenant`. */
  async function owns(tenant: string, id: string, kind: 'task' | 'workflow' | 'either'): Promise<boolean> {
    if (kind !== 'workflow') {
      const task = await cv.getWorkItem(id).catch(notFoundAsNull);
      if (task) return task.tenant === tenant;
    }
    if (kind !== 'task') {
      const run = await cv.getWorkflow(id).catch(notFoundAsNull);
      if (run) return run.tenant === tenant;
      return (await cv.drafts.get(id, { tenant })) !== undefined;
    }
    return false;
  }

  app.get<{ Querystring: { workflow_id?: string; task_id?: string; last_event_id?: string } }>(
    '/api/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-Sent Events from the event log, resumable with Last-Event-ID',
        querystring: eventsQuery,
      },
    },
    async (request, reply) => {
      const q = request.query;
      if (q.workflow_id !== undefined && !(await owns(request.tenant, q.workflow_id, 'workflow')))
        throw new NotFoundError('workflow', q.workflow_id, 'query.workflow_id');
      if (q.task_id !== undefined && !(await owns(request.tenant, q.task_id, 'task')))
        throw new NotFoundError('work item', q.task_id, 'query.task_id');
      const header = request.headers['last-event-id'];
      const resume =
        typeof header === 'string' && /^\d{1,15}$/.test(header.trim()) ? header.trim() : q.last_event_id;
      streamEvents(
        cv,
        request,
        reply,
        {
          tenant: request.tenant,
          workflowId: q.workflow_id,
          itemId: q.task_id,
          afterSeq: resume === undefined ? undefined : Number(resume),
        },
        heartbeatSeconds,
      );
    },
  );

  app.get<{ Params: { task_id: string }; Querystring: { limit?: number } }>(
    '/api/webhooks/:task_id/history',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Every delivery attempt of the webhook of a task (or workflow)',
        params: taskIdParams,
        querystring: limitQuery,
      },
    },
    async (request) => {
      const id = request.params.task_id;
      if (!(await owns(request.tenant, id, 'either'))) throw new NotFoundError('work item', id, 'task_id');
      const attempts = await cv.getWebhookAttempts(id, { limit: request.query.limit ?? 1000 });
      return { task_id: id, attempts: attempts.map(webhookAttemptView) };
    },
  );

  app.get(
    '/api/webhooks/secret',
    {
      schema: { tags: ['webhooks'], summary: "This tenant's signing secret (whsec_…), to verify deliveries" },
    },
    async (request) => ({ secret: await cv.webhookSecret(request.tenant) }),
  );
}
