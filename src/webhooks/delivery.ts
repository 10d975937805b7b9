/**
 * @module delivery
 * Webhooks (CONTRACT §6, Standard Webhooks): when a task or workflow with a `webhookUrl`
 * reaches a final state, the transaction that finished it also enqueues a delivery, a work
 * item of type `conveyor.webhook`; so a delivery is never lost to a crash, and survives
 * restarts like any item. A worker of this module POSTs `{ type, timestamp, data }` signed
 * with the tenant's secret (`webhook-id`, `webhook-timestamp`, `webhook-signature`), records
 * every attempt (status, duration, error), and lets the item's retry policy repeat a
 * failed attempt with exponential backoff. A target the SSRF guard refuses is recorded as
 * `blocked` and not retried.
 */
import { Webhook } from 'standardwebhooks';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { ConveyorError, NonRetryableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Engine } from '../engine/engine.js';
import { enqueuePlanned, planItem } from '../engine/enqueue.js';
import type { TxContext, WebhookNotice } from '../engine/tx-context.js';
import type { ParsedEnqueue } from '../engine/validation.js';
import { toWorkItem } from '../store/records.js';
import type { NewWebhookAttempt, WebhookOutcome } from '../store/service-records.js';
import type { HandlerContext } from '../worker/handler-context.js';
import type { WorkflowService } from '../workflow/workflow-service.js';
import { taskView, workflowView } from '../client/views.js';
import { guardedPost, type OutboundPolicy } from './outbound.js';
import type { WebhookSecrets } from './secrets.js';

export const WEBHOOK_ITEM_TYPE = 'conveyor.webhook';
export const WEBHOOK_QUEUE = 'conveyor.webhooks';

export interface WebhookRetryPolicy {
  /** Attempts after the first. Default 10. */
  maxRetries: number;
  /** Delay before the first retry, doubling after. Default 2000 ms. */
  baseMs: number;
  /** Longest delay. Default 15 minutes. */
  maxMs: number;
}

/** 2 s, 4 s, 8 s … 512 s, then 15 min: 11 attempts over about 32 minutes (each delay up to 20% shorter: jitter). */
export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = { maxRetries: 10, baseMs: 2000, maxMs: 900_000 };

export interface WebhookDeliveryOptions {
  policy: OutboundPolicy;
  retry?: { [K in keyof WebhookRetryPolicy]?: number | undefined } | undefined;
  /** Per attempt, redirects included. Default 10000 ms. */
  timeoutMs?: number | undefined;
}

/** What `cv.deliverWebhooks(options)` takes. */
export const deliverWebhooksSchema = z.strictObject({
  /** Allow every private target (local development). */
  allowPrivate: z.boolean().optional(),
  /** Hosts, IPs or CIDRs allowed although private. */
  allowlist: z.array(z.string().min(1).max(300)).max(1000).optional(),
  /** Signing secrets by tenant (`*`: every tenant without its own); else generated per tenant. */
  secrets: z.record(z.string().min(1).max(200), z.string().max(200)).optional(),
  retry: z
    .strictObject({
      maxRetries: z.number().int().min(0).max(100).optional(),
      baseMs: z.number().int().min(1).max(86_400_000).optional(),
      maxMs: z
        .number()
        .int()
        .min(1)
        .max(7 * 86_400_000)
        .optional(),
    })
    .optional(),
  timeoutMs: z.number().int().min(100).max(300_000).optional(),
  /** Concurrent deliveries of this process's delivery worker. Default 8. */
  concurrency: z.number().int().min(1).max(1000).optional(),
  /** Run a delivery worker here (default) or only schedule deliveries (another process delivers). */
  worker: z.boolean().optional(),
});
export type DeliverWebhooksOptions = z.input<typeof deliverWebhooksSchema>;

interface DeliveryPayload {
  kind: 'task' | 'workflow';
  subjectId: string;
  url: string;
  eventType: string;
  webhookId: string;
}

export class WebhookDelivery {
  private readonly retry: WebhookRetryPolicy;

  constructor(
    private readonly engine: Engine,
    private readonly workflows: WorkflowService,
    private readonly secrets: WebhookSecrets,
    private readonly options: WebhookDeliveryOptions,
    private readonly logger: Logger,
  ) {
    const r = options.retry ?? {};
    this.retry = {
      maxRetries: r.maxRetries ?? DEFAULT_WEBHOOK_RETRY.maxRetries,
      baseMs: r.baseMs ?? DEFAULT_WEBHOOK_RETRY.baseMs,
      maxMs: Math.max(r.maxMs ?? DEFAULT_WEBHOOK_RETRY.maxMs, r.baseMs ?? 0),
    };
  }

  /** Attaches the sink: from now on, finished tasks and workflows with a URL schedule a delivery. */
  attach(): void {
    this.engine.webhookSink = (c, notices) => this.schedule(c, notices);
  }

  detach(): void {
    this.engine.webhookSink = undefined;
  }

  private async schedule(c: TxContext, notices: WebhookNotice[]): Promise<void> {
    const planned = notices.map((n, i) => {
      const payload: DeliveryPayload = {
        kind: n.kind,
        subjectId: n.id,
        url: n.url,
        eventType: `${n.kind}.${n.status}`,
        webhookId: `msg_${uuidv7()}`,
      };
      const input: ParsedEnqueue = {
        type: WEBHOOK_ITEM_TYPE,
        queue: WEBHOOK_QUEUE,
        tenant: n.tenant,
        payload,
        // A subject finishes once: the key makes a delivery per subject, whatever reruns.
        idempotencyKey: `webhook:${n.kind}:${n.id}`,
        constraints: {
          maxRetries: this.retry.maxRetries,
          backoff: { type: 'exponential', baseMs: this.retry.baseMs, maxMs: this.retry.maxMs, jitter: 0.2 },
        },
      };
      return planItem(input, i, n.tenant);
    });
    await enqueuePlanned(c, planned);
  }

  /** The handler of `conveyor.webhook` items. */
  readonly handler = async (payload: DeliveryPayload, ctx: HandlerContext): Promise<{ status: number }> => {
    const tenant = ctx.item.tenant;
    const data = await this.subjectData(payload);
    const timestamp = new Date(Math.floor(Date.now() / 1000) * 1000);
    const body = JSON.stringify({ type: payload.eventType, timestamp: timestamp.toISOString(), data });
    const secret = await this.secrets.forTenant(tenant);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'conveyor-webhooks/1',
      'webhook-id': payload.webhookId,
      'webhook-timestamp': String(timestamp.getTime() / 1000),
      'webhook-signature': new Webhook(secret).sign(payload.webhookId, timestamp, body),
    };
    const started = performance.now();
    const record = (outcome: WebhookOutcome, statusCode: number | null, error: string | null) =>
      this.recordAttempt({
        tenant,
        subjectId: payload.subjectId,
        deliveryId: ctx.item.id,
        webhookId: payload.webhookId,
        eventType: payload.eventType,
        url: payload.url,
        attempt: ctx.attempt,
        at: Date.now(),
        statusCode,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        outcome,
        error,
      });
    let status: number;
    try {
      status = (await guardedPost(payload.url, body, headers, this.options.policy, this.timeout())).status;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof ConveyorError && e.code === 'URL_BLOCKED') {
        await record('blocked', null, message);
        throw new NonRetryableError(`webhook blocked: ${message}`, { cause: e });
      }
      await record('failed', null, message);
      throw e;
    }
    if (status >= 200 && status < 300) {
      await record('delivered', status, null);
      return { status };
    }
    await record('failed', status, `receiver answered ${status}`);
    throw new ConveyorError('HTTP_STATUS', `webhook receiver answered ${status}`, { details: { status } });
  };

  private timeout() {
    return { timeoutMs: this.options.timeoutMs ?? 10_000 };
  }

  /** The finished subject as GET /api/tasks/:id or /api/workflows/:id shows it (it no longer changes). */
  private async subjectData(p: DeliveryPayload): Promise<unknown> {
    if (p.kind === 'workflow') return workflowView(await this.workflows.get(p.subjectId));
    const item = await this.engine.store.getItem(p.subjectId);
    return item ? taskView(toWorkItem(item)) : { id: p.subjectId };
  }

  private async recordAttempt(a: NewWebhookAttempt): Promise<void> {
    try {
      await this.engine.write((c) => Promise.resolve(c.tx.insertWebhookAttempt(a)));
    } catch (e) {
      // The delivery's own outcome stands; a lost history line is only logged.
      this.logger.warn(`conveyor: recording a webhook attempt failed: ${String(e)}`);
    }
  }
}
