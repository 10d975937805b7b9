/**
 * @module workflow-service
 * The workflow half of the library facade (CONTRACT §4–5): build, start, read, list, wait
 * for, cancel, and send events to runs. Every method validates its arguments before it
 * touches the store; each change is one engine transaction.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ConveyorError, NotFoundError } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';
import type { Engine } from '../engine/engine.js';
import { subscribe } from '../engine/subscriptions.js';
import { jsonSchema, nameSchema, parseArg, parseInput } from '../engine/validation.js';
import type { ResourceRegistry } from '../resources/registry.js';
import { everyRow, listPage, nextCursor } from '../store/paging.js';
import { WORKFLOW_STATUSES, type WorkflowRecord } from '../store/workflow-records.js';
import { WorkflowBuilder } from './builder.js';
import { checkedDefinition } from './checked-definitions.js';
import { compileWorkflow } from './compile.js';
import { parseWorkflowDefinition } from './definition.js';
import { WorkflowDrafts } from './drafts.js';
import { Orchestrator } from './orchestrator.js';
import { cancelRun, deliverEvent, startRun } from './run-control.js';
import { rebuildWorkflowStates } from './workflow-replay.js';
import {
  toWorkflow,
  toWorkflowResultOf,
  toWorkflowSummary,
  type Workflow,
  type WorkflowResult,
  type WorkflowSummary,
} from './workflow-view.js';

const startOptionsSchema = z.strictObject({
  id: nameSchema.optional(),
  tenant: nameSchema.optional(),
  webhookUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    .optional(),
  idempotencyKey: z.string().min(1).max(500).optional(),
});
export type StartWorkflowOptions = z.input<typeof startOptionsSchema>;

const listSchema = z.strictObject({
  status: z.union([z.enum(WORKFLOW_STATUSES), z.array(z.enum(WORKFLOW_STATUSES)).max(5)]).optional(),
  name: nameSchema.optional(),
  tenant: nameSchema.optional(),
  limit: z.number().int().min(1).max(1000).optional(),
  cursor: z.string().regex(/^\d+$/, 'must be a cursor from a previous page').optional(),
});
export type WorkflowListFilter = z.input<typeof listSchema>;

const waitSchema = z.strictObject({ timeoutMs: z.number().int().min(0).max(2_147_483_647).optional() });
const cancelSchema = z.strictObject({ reason: z.string().max(10_000).optional() });

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** The log entry of a workflow reaching its end. */
const isFinish = (e: { type: string; data: Record<string, unknown> }): boolean =>
  e.type === 'workflow.updated' && TERMINAL.has(String(e.data.to));

export class WorkflowService {
  readonly orchestrator: Orchestrator;
  /** Workflows assembled one call at a time, then started. */
  readonly drafts: WorkflowDrafts;

  constructor(
    private readonly engine: Engine,
    private readonly resources: ResourceRegistry,
  ) {
    this.orchestrator = new Orchestrator(resources);
    engine.hooks = this.orchestrator;
    this.drafts = new WorkflowDrafts(engine, async (c, definition, input, o) => {
      const compiled = compileWorkflow(definition, { hasResource: (n) => this.resources.has(n) });
      const { workflow } = await startRun(c, compiled, input, {
        id: o.id,
        tenant: o.tenant,
        webhookUrl: o.webhookUrl ?? undefined,
      });
      return { id: workflow.id, status: workflow.status };
    });
  }

  builder(name: string): WorkflowBuilder {
    return new WorkflowBuilder(name, {
      hasResource: (n) => this.resources.has(n),
      // A name the Conveyor already has keeps its factory: one resource, shared.
      defineResource: (n, factory) => {
        if (!this.resources.has(n)) this.resources.define(n, factory);
      },
    });
  }

  async start(
    definition: unknown,
    input: unknown = {},
    options: StartWorkflowOptions = {},
  ): Promise<{ id: string; status: WorkflowRecord['status'] }> {
    // A builder passed as it is: take its definition (and register the resources it declares).
    // One that build() returned and nobody changed since was checked there already.
    const def =
      definition instanceof WorkflowBuilder
        ? this.adopt(definition)
        : (checkedDefinition(definition) ?? parseWorkflowDefinition(definition));
    const compiled = compileWorkflow(def, { hasResource: (n) => this.resources.has(n) });
    parseArg(jsonSchema, input, 'input');
    const o = parseInput(startOptionsSchema, options, 'options');
    const { workflow, created } = await this.engine.write((c) =>
      startRun(c, compiled, (input ?? {}) as JsonValue, {
        ...o,
        tenant: o.tenant ?? this.engine.settings.defaultTenant,
      }),
    );
    if (created) this.orchestrator.remember(workflow.id, { compiled, input: (input ?? {}) as JsonValue });
    return { id: workflow.id, status: workflow.status };
  }

  private adopt(builder: WorkflowBuilder) {
    for (const [name, factory] of builder.resourceFactories)
      if (!this.resources.has(name)) this.resources.define(name, factory);
    return builder.build();
  }

  async get(id: string): Promise<Workflow> {
    parseArg(nameSchema, id, 'id');
    const w = await this.engine.store.getWorkflow(id);
    if (!w) throw new NotFoundError('workflow', id, 'id');
    const items = await this.engine.store.workflowSteps(id);
    return toWorkflow(w, items, await this.orchestrator.specFor(this.engine.store, id));
  }

  async list(
    filter: WorkflowListFilter = {},
  ): Promise<{ workflows: WorkflowSummary[]; nextCursor: string | null }> {
    const f = parseInput(listSchema, filter);
    const { limit, cursor, ...where } = f;
    const page = await this.engine.store.listWorkflows(where, listPage(limit ?? 100, cursor));
    return { workflows: page.items.map(toWorkflowSummary), nextCursor: nextCursor(page) };
  }

  /**
   * Resolves with `{ status, results, errors }` once the run has finished (completed,
   * failed or cancelled); TIMEOUT if `timeoutMs` passes first. Follows the run's events, so
   * it also sees runs other processes carry on.
   */
  async wait(id: string, options: { timeoutMs?: number } = {}): Promise<WorkflowResult> {
    parseArg(nameSchema, id, 'id');
    const o = parseInput(waitSchema, options);
    const head = await this.engine.store.headSeq();
    // The row alone says whether the run is over; its steps are read once, when it is.
    const row = await this.engine.store.getWorkflow(id);
    if (!row) throw new NotFoundError('workflow', id, 'id');
    if (TERMINAL.has(row.status)) return this.result(row);
    return new Promise<WorkflowResult>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sub.close();
        fn();
      };
      const timer =
        o.timeoutMs === undefined
          ? undefined
          : setTimeout(
              () =>
                finish(() =>
                  reject(
                    new ConveyorError('TIMEOUT', `workflow ${id} did not finish within ${o.timeoutMs} ms`, {
                      details: { workflowId: id },
                    }),
                  ),
                ),
              o.timeoutMs,
            );
      const sub = subscribe(
        this.engine.store,
        this.engine.notifier,
        { workflowId: id, workflowEventsOnly: true },
        head,
        async (event) => {
          if (!isFinish(event)) return;
          const done = await this.engine.store.getWorkflow(id);
          if (!done) throw new NotFoundError('workflow', id, 'id');
          const result = await this.result(done);
          finish(() => resolve(result));
        },
        (e) => finish(() => reject(e instanceof Error ? e : new Error(String(e)))),
        // Each step's bookkeeping logs a workflow.updated too: only the last one is news.
        isFinish,
      );
    });
  }

  /** A finished run's result: its steps' outcomes only, not their whole rows. */
  private async result(w: WorkflowRecord): Promise<WorkflowResult> {
    const outcomes = await this.engine.store.workflowOutcomes(w.id);
    return toWorkflowResultOf(w, outcomes, await this.orchestrator.specFor(this.engine.store, w.id));
  }

  async cancel(id: string, options: { reason?: string } = {}): Promise<Workflow> {
    parseArg(nameSchema, id, 'id');
    const o = parseInput(cancelSchema, options);
    await this.engine.write((c) => cancelRun(c, id, o.reason ?? 'cancelled'));
    return this.get(id);
  }

  async sendEvent(id: string, name: string, payload: unknown = null): Promise<{ eventId: string }> {
    parseArg(nameSchema, id, 'workflowId');
    parseArg(nameSchema, name, 'name');
    parseArg(jsonSchema, payload, 'payload');
    return this.engine.write((c) =>
      deliverEvent(
        c,
        (workflowId) => this.orchestrator.specFor(c.tx, workflowId),
        id,
        name,
        (payload ?? null) as JsonValue,
      ),
    );
  }

  /** Workflow rows rebuilt from the log, compared with the stored ones: the ids that differ. */
  async checkLog(): Promise<{ workflows: number; mismatches: string[] }> {
    const replayed = await rebuildWorkflowStates(this.engine.store);
    const mismatches: string[] = [];
    let seen = 0;
    for await (const w of everyRow((page) => this.engine.store.listWorkflows({}, page))) {
      seen++;
      const r = replayed.get(w.id);
      const same =
        r !== undefined &&
        isDeepStrictEqual(r.state, w) &&
        isDeepStrictEqual(r.spec, await this.engine.store.workflowSpec(w.id));
      if (!same) mismatches.push(w.id);
      replayed.delete(w.id);
    }
    mismatches.push(...replayed.keys());
    return { workflows: seen, mismatches };
  }
}
