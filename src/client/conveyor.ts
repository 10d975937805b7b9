/**
 * @module conveyor
 * The library facade of CONTRACT §4: the seed-compatible work-item primitives with their
 * exact names, the pull worker, subscriptions and shutdown. Every method validates its
 * arguments before touching the store and returns plain objects.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ClosedError, LeaseLostError, NotFoundError, ValidationError } from '../core/errors.js';
import { ITEM_STATUSES } from '../core/item-state.js';
import type { Logger } from '../core/logger.js';
import type {
  ConveyorEvent,
  JsonValue,
  Executor,
  ItemCounts,
  LogLine,
  Receipt,
  ReceiptVerification,
  WorkItem,
} from '../core/types.js';
import type { Engine } from '../engine/engine.js';
import { subscribe, type EventListener, type Subscription } from '../engine/subscriptions.js';
import {
  cancelSchema,
  claimSchema,
  completeSchema,
  enqueueManySchema,
  executorSchema,
  failSchema,
  listSchema,
  nameSchema,
  parseArg,
  parseInput,
  progressSchema,
  subscribeSchema,
  type CancelInput,
  type ClaimInput,
  type CompleteInput,
  type EnqueueInput,
  type ExecutorInput,
  type FailInput,
  type ListFilter,
  type SubscribeFilter,
} from '../engine/validation.js';
import type { ResourceRegistry } from '../resources/registry.js';
import { everyRow, listPage, nextCursor } from '../store/paging.js';
import { toItemState, toWorkItem, type ExecutorRecord } from '../store/records.js';
import { rebuildItemStates } from '../engine/replay.js';
import { retryItem } from '../engine/retry.js';
import { Worker, type WorkerOptions } from '../worker/worker.js';
import type { WorkflowBuilder } from '../workflow/builder.js';
import type { WorkflowDefinition } from '../workflow/definition-types.js';
import type { WorkflowDrafts } from '../workflow/drafts.js';
import {
  WorkflowService,
  type StartWorkflowOptions,
  type WorkflowListFilter,
} from '../workflow/workflow-service.js';
import type { Workflow, WorkflowResult, WorkflowSummary } from '../workflow/workflow-view.js';
import type { WorkflowStatus } from '../store/workflow-records.js';
import type { WebhookAttemptRecord } from '../store/service-records.js';
import {
  deliverWebhooksSchema,
  WEBHOOK_ITEM_TYPE,
  WEBHOOK_QUEUE,
  WebhookDelivery,
  type DeliverWebhooksOptions,
} from '../webhooks/delivery.js';
import { parseAllowlist } from '../webhooks/address-policy.js';
import { checkWebhookSecret, WebhookSecrets } from '../webhooks/secrets.js';

const iso = (ms: number) => new Date(ms).toISOString();
const toExecutor = (e: ExecutorRecord): Executor => ({
  ...e,
  registeredAt: iso(e.registeredAt),
  lastSeenAt: iso(e.lastSeenAt),
});
const limitSchema = z.strictObject({ limit: z.number().int().min(1).max(10_000).optional() });

export class Conveyor {
  private readonly workers = new Set<Worker>();
  private readonly subscriptions = new Set<Subscription>();
  private closing: Promise<void> | undefined;
  private webhookSecrets: WebhookSecrets | undefined;
  private readonly workflows: WorkflowService;

  constructor(
    private readonly engine: Engine,
    readonly resources: ResourceRegistry,
    private readonly logger: Logger,
  ) {
    this.workflows = new WorkflowService(engine, resources);
  }

  /** The tenant of items and runs created without one. */
  get defaultTenant(): string {
    return this.engine.settings.defaultTenant;
  }

  /** Which backend this Conveyor stores in. */
  get backend(): 'sqlite' | 'postgres' {
    return this.engine.store.kind;
  }

  // ---- enqueue -----------------------------------------------------------------------

  async enqueueWorkItem(input: EnqueueInput): Promise<WorkItem> {
    const [item] = await this.engine.enqueue([this.engine.parseEnqueue(input)]);
    return toWorkItem(item!);
  }

  /** Many items in one transaction: all are enqueued or none (the first error is thrown). */
  async enqueueWorkItems(inputs: EnqueueInput[]): Promise<WorkItem[]> {
    const list = parseInput(enqueueManySchema, inputs, 'items');
    const parsed = list.map((input, i) => this.engine.parseEnqueue(input, `items[${i}]`));
    return (await this.engine.enqueue(parsed)).map(toWorkItem);
  }

  /**
   * Runs a failed or cancelled item again, as a new item (final states stay final) with the
   * same type, name, payload and constraints; its `retryOf` names the original. CONFLICT for
   * an item in any other state, or a workflow's step.
   */
  async retryWorkItem(id: string): Promise<WorkItem> {
    parseArg(nameSchema, id, 'id');
    return toWorkItem(await this.engine.write((c) => retryItem(c, id)));
  }

  // ---- push-style executors ----------------------------------------------------------

  async registerExecutor(id: string, options: ExecutorInput = {}): Promise<Executor> {
    parseArg(nameSchema, id, 'id');
    const o = parseInput(executorSchema, options);
    const record = await this.engine.registerExecutor({
      id,
      capabilities: [...new Set(o.capabilities ?? [])],
      concurrency: o.concurrency ?? 1,
      busy: o.busy ?? false,
    });
    return toExecutor(record);
  }

  /**
   * For a registered executor that pulls (a remote worker over HTTP): takes up to `limit`
   * queued items of `types` (any type when absent) that its capabilities allow, straight to
   * `running` under a lease of `leaseMs`, in claim order. Report with complete/fail, passing
   * the item's `leaseToken`; heartbeat or report progress before the lease runs out.
   */
  async claimWorkItems(executorId: string, options: ClaimInput = {}): Promise<WorkItem[]> {
    parseArg(nameSchema, executorId, 'executorId');
    const o = parseInput(claimSchema, options);
    const executor = await this.engine.store.getExecutor(executorId);
    if (!executor) throw new NotFoundError('executor', executorId, 'executorId');
    const items = await this.engine.claim({
      executorId,
      types: o.types ?? null,
      queues: o.queues ?? null,
      capabilities: executor.capabilities,
      tenant: o.tenant ?? null,
      limit: o.limit ?? 1,
      leaseMs: o.leaseMs ?? this.engine.settings.leaseMs,
    });
    return items.map(toWorkItem);
  }

  assignWorkItem(itemId: string, executorId: string): Promise<Receipt> {
    this.ids(itemId, executorId);
    return this.engine.assign(itemId, executorId);
  }

  startExecution(itemId: string, executorId: string): Promise<Receipt> {
    this.ids(itemId, executorId);
    return this.engine.start(itemId, executorId);
  }

  reportProgress(itemId: string, executorId: string, percent: number, message?: string): Promise<Receipt> {
    this.ids(itemId, executorId);
    const p = parseInput(progressSchema, message === undefined ? { percent } : { percent, message });
    return this.engine.progress(itemId, executorId, p.percent, p.message);
  }

  /** Renews the lease of an assigned or running item (push executors between progress reports). */
  async heartbeat(itemId: string, executorId: string): Promise<void> {
    this.ids(itemId, executorId);
    const item = await this.engine.store.getItem(itemId);
    if (!item) throw new NotFoundError('work item', itemId, 'itemId');
    const lost = await this.engine.heartbeat(
      executorId,
      [{ id: itemId, token: item.leaseToken }],
      this.engine.settings.leaseMs,
    );
    if (lost.length > 0)
      throw new LeaseLostError(itemId, executorId, 'not assigned to it or no longer running');
  }

  completeWorkItem(itemId: string, executorId: string, result: CompleteInput = {}): Promise<Receipt> {
    this.ids(itemId, executorId);
    const r = parseInput(completeSchema, result);
    return this.engine.complete(itemId, executorId, {
      success: r.success ?? true,
      output: (r.output ?? null) as JsonValue,
      error: r.error,
      usage: r.usage,
      leaseToken: r.leaseToken,
    });
  }

  failWorkItem(itemId: string, executorId: string, failure: FailInput): Promise<Receipt> {
    this.ids(itemId, executorId);
    const f = parseInput(failSchema, failure);
    return this.engine.fail(itemId, executorId, {
      error: f.error,
      retryable: f.retryable ?? true,
      retryAfterMs: f.retryAfterMs,
      leaseToken: f.leaseToken,
    });
  }

  cancelWorkItem(
    itemId: string,
    executorId: string | null = null,
    options: CancelInput = {},
  ): Promise<Receipt> {
    parseArg(nameSchema, itemId, 'itemId');
    if (executorId !== null) parseArg(nameSchema, executorId, 'executorId');
    const o = parseInput(cancelSchema, options);
    return this.engine.cancel(itemId, executorId, o.reason ?? 'cancelled');
  }

  // ---- reads ---------------------------------------------------------------------------

  async getWorkItem(id: string): Promise<WorkItem> {
    parseArg(nameSchema, id, 'id');
    const item = await this.engine.store.getItem(id);
    if (!item) throw new NotFoundError('work item', id, 'id');
    return toWorkItem(item);
  }

  /** Queued items in the order workers will take them. */
  async getQueuedItems(options: { limit?: number } = {}): Promise<WorkItem[]> {
    const o = parseInput(limitSchema, options);
    return (await this.engine.store.queuedItems({}, o.limit ?? 1000)).map(toWorkItem);
  }

  /** Items assigned to or running on an executor, newest first. */
  async getExecutingItems(options: { limit?: number } = {}): Promise<WorkItem[]> {
    const o = parseInput(limitSchema, options);
    const page = await this.engine.store.listItems(
      { status: ['assigned', 'running'] },
      { limit: o.limit ?? 1000 },
    );
    return page.items.map(toWorkItem);
  }

  /** A page of items, newest first; pass `nextCursor` back as `cursor` for the next page. */
  async listWorkItems(filter: ListFilter = {}): Promise<{ items: WorkItem[]; nextCursor: string | null }> {
    const f = parseInput(listSchema, filter);
    const { limit, cursor, ...where } = f;
    const page = await this.engine.store.listItems(where, listPage(limit ?? 100, cursor));
    return { items: page.items.map(toWorkItem), nextCursor: nextCursor(page) };
  }

  async getCounts(
    filter: Pick<ListFilter, 'tenant' | 'type' | 'queue' | 'workflowId'> = {},
  ): Promise<ItemCounts> {
    const f = parseInput(
      listSchema.pick({ tenant: true, type: true, queue: true, workflowId: true }),
      filter,
    );
    const counts = await this.engine.store.countByStatus(f);
    return Object.fromEntries(ITEM_STATUSES.map((s) => [s, counts[s] ?? 0])) as ItemCounts;
  }

  async getWorkItemReceipts(id: string): Promise<Receipt[]> {
    parseArg(nameSchema, id, 'id');
    if (!(await this.engine.store.getItem(id))) throw new NotFoundError('work item', id, 'id');
    return this.engine.store.receipts(id);
  }

  verifyReceipts(id: string): Promise<ReceiptVerification> {
    parseArg(nameSchema, id, 'id');
    return this.engine.verify(id);
  }

  async getWorkItemLogs(id: string, options: { limit?: number } = {}): Promise<LogLine[]> {
    parseArg(nameSchema, id, 'id');
    const o = parseInput(limitSchema, options);
    if (!(await this.engine.store.getItem(id))) throw new NotFoundError('work item', id, 'id');
    const lines = await this.engine.store.logs(id, o.limit ?? 1000);
    return lines.map((l) => ({ ...l, at: iso(l.at) }));
  }

  async listExecutors(): Promise<Executor[]> {
    return (await this.engine.store.listExecutors()).map(toExecutor);
  }

  /**
   * Rebuilds every item's state from the event log alone and compares it with the stored
   * rows: the check behind "the event log is the source of truth". Returns the ids whose
   * stored state differs from the replayed one (empty when the two agree).
   */
  async checkEventLog(): Promise<{ items: number; workflows: number; mismatches: string[] }> {
    const replayed = await rebuildItemStates(this.engine.store);
    const mismatches: string[] = [];
    let seen = 0;
    for await (const record of everyRow((page) => this.engine.store.listItems({}, page))) {
      seen++;
      const state = replayed.get(record.id);
      if (!state || !isDeepStrictEqual(state, toItemState(record))) mismatches.push(record.id);
      replayed.delete(record.id);
    }
    mismatches.push(...replayed.keys());
    const wf = await this.workflows.checkLog();
    return { items: seen, workflows: wf.workflows, mismatches: [...mismatches, ...wf.mismatches] };
  }

  /** Returns expired leases and past-deadline items now (workers also do this on a timer). */
  reapExpiredLeases(): Promise<number> {
    return this.engine.reapExpired();
  }

  // ---- workflows (CONTRACT §5) ----------------------------------------------------------

  /** A fluent builder whose `build()` returns the definition (plain JSON). */
  workflow(name: string): WorkflowBuilder {
    return this.workflows.builder(name);
  }

  /**
   * Workflows assembled one call at a time (create → addPhase → addStep → start), as the
   * HTTP API and MCP build them; `start` turns a draft into a run with the same id.
   */
  get drafts(): WorkflowDrafts {
    return this.workflows.drafts;
  }

  /** Starts a run of `definition` (JSON or a builder) with `input`; returns `{ id, status }`. */
  startWorkflow(
    definition: WorkflowDefinition | WorkflowBuilder,
    input?: unknown,
    options?: StartWorkflowOptions,
  ): Promise<{ id: string; status: WorkflowStatus }> {
    return this.workflows.start(definition, input, options);
  }

  getWorkflow(id: string): Promise<Workflow> {
    return this.workflows.get(id);
  }

  /** A page of runs, newest first; pass `nextCursor` back as `cursor` for the next page. */
  listWorkflows(
    filter?: WorkflowListFilter,
  ): Promise<{ workflows: WorkflowSummary[]; nextCursor: string | null }> {
    return this.workflows.list(filter);
  }

  /** Resolves with `{ status, results, errors }` once the run finished. */
  waitForWorkflow(id: string, options?: { timeoutMs?: number }): Promise<WorkflowResult> {
    return this.workflows.wait(id, options);
  }

  /** Cancels every unfinished step (their handlers' signals abort) and skips the rest. */
  cancelWorkflow(id: string, options?: { reason?: string }): Promise<Workflow> {
    return this.workflows.cancel(id, options);
  }

  /** Persists an event for a run; steps waiting for `name` complete with `payload`. */
  sendEvent(workflowId: string, name: string, payload?: unknown): Promise<{ eventId: string }> {
    return this.workflows.sendEvent(workflowId, name, payload);
  }

  // ---- webhooks (CONTRACT §6) ------------------------------------------------------------

  /**
   * Delivers webhooks from this process: finished tasks and workflows with a `webhookUrl`
   * schedule a signed delivery (a durable item, retried with backoff) in the transaction
   * that finished them, and a worker here delivers them. Call it in every process that
   * finishes such items (the server does); `worker: false` only schedules. Resolves with
   * the delivery worker, started (null with `worker: false`).
   */
  async deliverWebhooks(options: DeliverWebhooksOptions = {}): Promise<Worker | null> {
    if (this.closing) throw new ClosedError();
    const o = parseInput(deliverWebhooksSchema, options);
    const configured = new Map<string, string>();
    for (const [tenant, secret] of Object.entries(o.secrets ?? {}))
      configured.set(tenant, checkWebhookSecret(secret, `secrets.${tenant}`));
    const policy = {
      allowPrivate: o.allowPrivate ?? false,
      allowlist: parseAllowlist((o.allowlist ?? []).join(',')),
    };
    this.webhookSecrets = new WebhookSecrets(this.engine, configured);
    const delivery = new WebhookDelivery(
      this.engine,
      this.workflows,
      this.webhookSecrets,
      { policy, retry: o.retry, timeoutMs: o.timeoutMs },
      this.logger,
    );
    delivery.attach();
    if (o.worker === false) return null;
    const worker = this.worker({
      id: `webhooks-${randomUUID().slice(0, 8)}`,
      handlers: { [WEBHOOK_ITEM_TYPE]: delivery.handler },
      queues: [WEBHOOK_QUEUE],
      concurrency: o.concurrency ?? 8,
    });
    await worker.start();
    return worker;
  }

  /** The tenant's webhook signing secret (`whsec_…`), created on first use; receivers verify with it. */
  webhookSecret(tenant?: string): Promise<string> {
    const t = parseArg(nameSchema, tenant ?? this.engine.settings.defaultTenant, 'tenant');
    this.webhookSecrets ??= new WebhookSecrets(this.engine);
    return this.webhookSecrets.forTenant(t);
  }

  /** Every delivery attempt of the webhooks about a task or workflow, oldest first. */
  async getWebhookAttempts(
    subjectId: string,
    options: { limit?: number } = {},
  ): Promise<WebhookAttemptRecord[]> {
    parseArg(nameSchema, subjectId, 'id');
    const o = parseInput(limitSchema, options);
    return this.engine.store.webhookAttempts(subjectId, o.limit ?? 1000);
  }

  // ---- workers and events --------------------------------------------------------------

  worker(options: WorkerOptions): Worker {
    if (this.closing) throw new ClosedError();
    const w = new Worker(this.engine, options, this.resources, this.logger, (stopped) =>
      this.workers.delete(stopped),
    );
    this.workers.add(w);
    return w;
  }

  /**
   * Delivers events from the log: those after `afterSeq` first (when given), then live
   * ones, in order, none twice. Returns a subscription to `close()`.
   */
  subscribe(filter: SubscribeFilter, listener: EventListener): Subscription {
    const f = parseInput(subscribeSchema, filter ?? {});
    if (typeof listener !== 'function')
      throw new ValidationError([{ field: 'listener', message: 'must be a function' }]);
    const { afterSeq, ...where } = f;
    const sub = subscribe(this.engine.store, this.engine.notifier, where, afterSeq, listener, (e) =>
      this.logger.error(`subscriber failed: ${String(e)}`),
    );
    this.subscriptions.add(sub);
    const close = sub.close.bind(sub);
    return Object.assign(sub, {
      close: () => {
        close();
        this.subscriptions.delete(sub);
      },
    });
  }

  /** Stops workers (graceful drain), subscriptions and resources, then closes the store. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.workers].map((w) => w.stop()));
      for (const s of this.subscriptions) s.close();
      const errors = await this.resources.closeAll();
      for (const e of errors) this.logger.warn(`closing a resource failed: ${String(e)}`);
      this.engine.close();
      await this.engine.store.close();
    })();
    return this.closing;
  }

  private ids(itemId: string, executorId: string): void {
    parseArg(nameSchema, itemId, 'itemId');
    parseArg(nameSchema, executorId, 'executorId');
  }
}

export type { ConveyorEvent };
