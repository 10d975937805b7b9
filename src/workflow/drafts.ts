/**
 * @module drafts
 * Workflows assembled one call at a time (the HTTP API's and MCP's create → add phase →
 * add task → start). A draft is stored, so the calls may come from different requests or
 * processes; each addition is checked against what the draft already holds (a phase may
 * only depend on phases added before it, a step only on steps added before it), so a draft
 * never holds a cycle. Starting compiles the draft, deletes it and starts a run with the
 * same id, in one transaction.
 */
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';
import type { Engine } from '../engine/engine.js';
import { jsonSchema, nameSchema, parseArg, parseInput } from '../engine/validation.js';
import type { DraftRecord } from '../store/service-records.js';
import { MAX_PHASES, MAX_STEPS, parseWorkflowDefinition, phaseSchema, stepSchema } from './definition.js';
import type { PhaseDefinition, StepDefinition, WorkflowDefinition } from './definition-types.js';

const createSchema = z.strictObject({
  id: nameSchema.optional(),
  name: nameSchema,
  description: z.string().max(10_000).optional(),
  tenant: nameSchema.optional(),
  input: jsonSchema.optional(),
  onStepFailure: z.enum(['failFast', 'continue']).optional(),
  webhookUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    .optional(),
  /** Phases and steps to start with, checked as if added one by one (all or nothing). */
  phases: z.array(z.unknown()).max(MAX_PHASES).optional(),
  steps: z.array(z.unknown()).max(MAX_STEPS).optional(),
});
export type CreateDraftInput = z.input<typeof createSchema>;

/** The stored body of a draft. */
interface DraftDocument {
  description: string | null;
  onStepFailure: 'failFast' | 'continue' | null;
  input: JsonValue;
  webhookUrl: string | null;
  phases: PhaseDefinition[];
  steps: StepDefinition[];
}

/** A draft as the library returns it. */
export interface WorkflowDraft {
  id: string;
  name: string;
  description: string | null;
  status: 'draft';
  tenant: string;
  input: JsonValue;
  webhookUrl: string | null;
  phases: PhaseDefinition[];
  steps: StepDefinition[];
  createdAt: string;
  updatedAt: string;
}

const tenantSchema = z.strictObject({ tenant: nameSchema.optional() });

export class WorkflowDrafts {
  constructor(
    private readonly engine: Engine,
    /** Starts a run of the compiled definition inside the transaction that deletes the draft. */
    private readonly startRun: StartDraftRun,
  ) {}

  async create(input: CreateDraftInput): Promise<WorkflowDraft> {
    const o = parseInput(createSchema, input);
    const doc: DraftDocument = {
      description: o.description ?? null,
      onStepFailure: o.onStepFailure ?? null,
      input: (o.input ?? {}) as JsonValue,
      webhookUrl: o.webhookUrl ?? null,
      phases: [],
      steps: [],
    };
    (o.phases ?? []).forEach((p, i) =>
      addPhaseTo(doc, parseInput(phaseSchema, p, `phases[${i}]`), `phases[${i}]`),
    );
    (o.steps ?? []).forEach((s, i) =>
      addStepTo(doc, parseInput(stepSchema, s, `steps[${i}]`), `steps[${i}]`),
    );
    const record = await this.engine.write(async (c) => {
      const id = o.id ?? uuidv7();
      // Drafts and runs share one id space: starting a draft makes a run with its id.
      if ((await c.tx.getDraft(id)) || (await c.tx.getWorkflow(id)))
        throw new ConflictError(`workflow id ${JSON.stringify(id)} is taken`, { field: 'id', id });
      const r: DraftRecord = {
        id,
        tenant: o.tenant ?? this.engine.settings.defaultTenant,
        name: o.name,
        document: doc as unknown as Record<string, unknown>,
        createdAt: c.now,
        updatedAt: c.now,
      };
      await c.tx.putDraft(r);
      return r;
    });
    return toDraftView(record);
  }

  /** The draft, or undefined (also when it belongs to another tenant than `options.tenant`). */
  async get(id: string, options: { tenant?: string } = {}): Promise<WorkflowDraft | undefined> {
    parseArg(nameSchema, id, 'id');
    const o = parseInput(tenantSchema, options);
    const d = await this.engine.store.getDraft(id);
    return d && (o.tenant === undefined || d.tenant === o.tenant) ? toDraftView(d) : undefined;
  }

  /** Adds a phase; it may depend only on phases the draft has already. */
  async addPhase(
    id: string,
    phase: PhaseDefinition,
    options: { tenant?: string } = {},
  ): Promise<WorkflowDraft> {
    const p = parseInput(phaseSchema, phase, 'phase');
    return this.change(id, options, (doc) => addPhaseTo(doc, p, 'phase'));
  }

  /** Adds a step; its phase and its deps must be in the draft already. */
  async addStep(id: string, step: StepDefinition, options: { tenant?: string } = {}): Promise<WorkflowDraft> {
    const s = parseInput(stepSchema, step, 'step');
    return this.change(id, options, (doc) => addStepTo(doc, s, 'step'));
  }

  /** Compiles and starts the draft as a run with the same id; the draft is gone after. */
  async start(id: string, options: { tenant?: string } = {}): Promise<{ id: string; status: string }> {
    parseArg(nameSchema, id, 'id');
    const o = parseInput(tenantSchema, options);
    return this.engine.write(async (c) => {
      const d = await c.tx.getDraft(id);
      if (!d || (o.tenant !== undefined && d.tenant !== o.tenant))
        throw new NotFoundError('workflow', id, 'id');
      const doc = d.document as unknown as DraftDocument;
      const definition = parseWorkflowDefinition(definitionOf(d.name, doc));
      await c.tx.deleteDraft(id);
      return this.startRun(c, definition, doc.input, { id, tenant: d.tenant, webhookUrl: doc.webhookUrl });
    });
  }

  private async change(
    id: string,
    options: { tenant?: string },
    apply: (doc: DraftDocument) => void,
  ): Promise<WorkflowDraft> {
    parseArg(nameSchema, id, 'id');
    const o = parseInput(tenantSchema, options);
    const record = await this.engine.write(async (c) => {
      const d = await c.tx.getDraft(id);
      if (!d || (o.tenant !== undefined && d.tenant !== o.tenant)) {
        // A run with this id is no draft any more: say so rather than "not found".
        const run = await c.tx.getWorkflow(id);
        if (run && (o.tenant === undefined || run.tenant === o.tenant))
          throw new ConflictError(`workflow ${id} has started; only a draft can change`, {
            field: 'id',
            status: run.status,
          });
        throw new NotFoundError('workflow', id, 'id');
      }
      // A copy: the store may run this transaction again (PostgreSQL), from the stored row.
      const doc = structuredClone(d.document) as unknown as DraftDocument;
      apply(doc);
      const next: DraftRecord = {
        ...d,
        document: doc as unknown as Record<string, unknown>,
        updatedAt: c.now,
      };
      await c.tx.putDraft(next);
      return next;
    });
    return toDraftView(record);
  }
}

export type StartDraftRun = (
  c: Parameters<Parameters<Engine['write']>[0]>[0],
  definition: WorkflowDefinition,
  input: JsonValue,
  options: { id: string; tenant: string; webhookUrl: string | null },
) => Promise<{ id: string; status: string }>;

function addPhaseTo(doc: DraftDocument, p: PhaseDefinition, field: string): void {
  if (doc.phases.length >= MAX_PHASES) throw invalid(field, `a workflow holds at most ${MAX_PHASES} phases`);
  if (doc.phases.some((x) => x.id === p.id))
    throw invalid(`${field}.id`, `the workflow has a phase ${JSON.stringify(p.id)} already`);
  const unknown = (p.dependsOn ?? []).find((d) => !doc.phases.some((x) => x.id === d));
  if (unknown !== undefined)
    throw invalid(
      `${field}.dependsOn`,
      `phase ${JSON.stringify(unknown)} is not in the workflow (add it first)`,
    );
  doc.phases.push(p);
}

function addStepTo(doc: DraftDocument, s: StepDefinition, field: string): void {
  if (doc.steps.length >= MAX_STEPS) throw invalid(field, `a workflow holds at most ${MAX_STEPS} steps`);
  if (doc.steps.some((x) => x.id === s.id))
    throw invalid(`${field}.id`, `the workflow has a step ${JSON.stringify(s.id)} already`);
  if (s.phase !== undefined && !doc.phases.some((x) => x.id === s.phase))
    throw invalid(`${field}.phase`, `phase ${JSON.stringify(s.phase)} is not in the workflow (add it first)`);
  const unknown = (s.deps ?? []).find((d) => !doc.steps.some((x) => x.id === d));
  if (unknown !== undefined)
    throw invalid(`${field}.deps`, `step ${JSON.stringify(unknown)} is not in the workflow (add it first)`);
  doc.steps.push(s);
}

function definitionOf(name: string, doc: DraftDocument): WorkflowDefinition {
  return {
    name,
    ...(doc.description !== null ? { description: doc.description } : {}),
    ...(doc.onStepFailure !== null ? { onStepFailure: doc.onStepFailure } : {}),
    ...(doc.phases.length > 0 ? { phases: doc.phases } : {}),
    steps: doc.steps,
  };
}

function toDraftView(d: DraftRecord): WorkflowDraft {
  const doc = d.document as unknown as DraftDocument;
  return {
    id: d.id,
    name: d.name,
    description: doc.description,
    status: 'draft',
    tenant: d.tenant,
    input: doc.input,
    webhookUrl: doc.webhookUrl,
    phases: doc.phases,
    steps: doc.steps,
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

const invalid = (field: string, message: string) => new ValidationError([{ field, message }]);
