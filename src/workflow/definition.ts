/**
 * @module definition
 * The zod schema of a workflow definition (definition-types.ts), the one check every
 * producer goes through: the builder, the HTTP API, MCP and the CLI. It checks the shape
 * and bounds of each field; what needs the whole graph (ids that exist, cycles, template
 * references) is compile.ts's job. The published JSON Schema is generated from the same
 * zod schema, so the two cannot drift.
 */
import { z } from 'zod';
import type { JsonValue } from '../core/types.js';
import {
  backoffFieldSchemas,
  capabilitiesSchema,
  checkBackoffOrder,
  durationMsSchema,
  jsonSchema,
  maxRetriesSchema,
  nameSchema,
  parseInput,
  prioritySchema,
} from '../engine/validation.js';
import type { StepDefinition, WorkflowDefinition } from './definition-types.js';
import { STEP_ID_PATTERN } from './templates.js';

export const MAX_STEPS = 10_000;
export const MAX_PHASES = 1_000;
const MAX_DEPS = 1_000;
const MAX_RESOURCES = 1_000;

const idSchema = z
  .string()
  .regex(STEP_ID_PATTERN, 'must be 1 to 100 letters, digits, _ or - (no dots: templates use them)');

/**
 * Any JSON value but `undefined`. The cast only tells TypeScript what `jsonSchema`
 * checked at run time; the JSON Schema of it is `{}` (any value).
 */
const jsonValueSchema = jsonSchema.refine(
  (v) => v !== undefined,
  'must be a JSON value',
) as unknown as z.ZodType<JsonValue, unknown>;

/** Fields are exact optionals: the TypeScript type has no `| undefined`, and JSON has no undefined. */
const retrySchema = z.strictObject({
  maxRetries: maxRetriesSchema.exactOptional(),
  backoff: z
    .strictObject({
      type: backoffFieldSchemas.type.exactOptional(),
      baseMs: backoffFieldSchemas.baseMs.exactOptional(),
      maxMs: backoffFieldSchemas.maxMs.exactOptional(),
      jitter: backoffFieldSchemas.jitter.exactOptional(),
    })
    .superRefine(checkBackoffOrder)
    .exactOptional(),
});

const countSchema = (max: number): z.ZodNumber => z.number().int().min(1).max(max);

const stepFields = {
  id: idSchema,
  type: nameSchema,
  input: jsonValueSchema.exactOptional(),
  deps: z.array(idSchema).max(MAX_DEPS).exactOptional(),
  phase: idSchema.exactOptional(),
  requiredCapabilities: capabilitiesSchema.exactOptional(),
  priority: prioritySchema.exactOptional(),
  queue: nameSchema.exactOptional(),
  retry: retrySchema.exactOptional(),
  timeoutMs: durationMsSchema.exactOptional(),
  fallback: z.strictObject({ type: nameSchema, input: jsonValueSchema.exactOptional() }).exactOptional(),
  rateLimit: z
    .strictObject({
      key: nameSchema,
      perSecond: z.number().positive().max(1_000_000),
      burst: countSchema(1_000_000).exactOptional(),
    })
    .exactOptional(),
  circuitBreaker: z
    .strictObject({
      key: nameSchema,
      failureThreshold: countSchema(1_000_000),
      resetTimeoutMs: durationMsSchema,
    })
    .exactOptional(),
  // Templates are allowed in the key, so it is free text rather than a name.
  cache: z
    .strictObject({
      key: z.string().min(1).max(2000),
      ttlMs: durationMsSchema,
      resource: nameSchema.exactOptional(),
    })
    .exactOptional(),
  map: z
    .strictObject({
      over: z.string().min(1).max(2000),
      concurrency: countSchema(10_000).exactOptional(),
      continueOnError: z.boolean().exactOptional(),
      itemTimeoutMs: durationMsSchema.exactOptional(),
    })
    .exactOptional(),
  batch: z.strictObject({ size: countSchema(10_000), flushMs: durationMsSchema }).exactOptional(),
  waitForEvent: z
    .strictObject({ name: nameSchema, timeoutMs: durationMsSchema.exactOptional() })
    .exactOptional(),
  resources: z.array(nameSchema).max(100).exactOptional(),
};

type StepKey = keyof typeof stepFields;
const WHY: Partial<Record<StepKey, string>> = {
  map: 'a map step fans out to one child item per element',
  waitForEvent: 'a waitForEvent step runs no handler: it completes with the event',
};
/** [kind, field it excludes]: the error goes on the second, the field that does not fit. */
const EXCLUSIVE: readonly (readonly [StepKey, StepKey])[] = [
  ['map', 'waitForEvent'],
  ...(['cache', 'batch', 'rateLimit', 'circuitBreaker', 'fallback', 'retry'] as const).map(
    (f) => ['waitForEvent', f] as const,
  ),
];

export const stepSchema = z
  .strictObject(stepFields)
  .superRefine((step, ctx) => {
    for (const [kind, field] of EXCLUSIVE) {
      if (step[kind] !== undefined && step[field] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `cannot be combined with ${kind} (${WHY[kind]})`,
        });
      }
    }
  })
  // Editors validating against the JSON Schema see the same exclusions.
  .meta({ allOf: EXCLUSIVE.map((pair) => ({ not: { required: [...pair] } })) });

export const phaseSchema = z.strictObject({
  id: idSchema,
  name: z.string().min(1).max(200).exactOptional(),
  dependsOn: z.array(idSchema).max(MAX_PHASES).exactOptional(),
});

export const workflowDefinitionSchema = z
  .strictObject({
    name: nameSchema,
    description: z.string().max(10_000).exactOptional(),
    onStepFailure: z.enum(['failFast', 'continue']).exactOptional(),
    phases: z.array(phaseSchema).max(MAX_PHASES).exactOptional(),
    steps: z.array(stepSchema).min(1, 'must hold at least one step').max(MAX_STEPS),
    resources: z.array(nameSchema).max(MAX_RESOURCES).exactOptional(),
  })
  .meta({
    title: 'Conveyor workflow definition',
    description: 'Steps (work items), their dependencies and phases; see CONTRACT §5.',
  });

// The schema must produce exactly the interfaces the compiler and orchestrator use.
// Mutual assignability alone would let an optional field go missing from either side
// ({} and { queue?: string } accept each other), so the check is type identity.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
type _SchemaMatchesDefinition = Assert<Same<z.output<typeof workflowDefinitionSchema>, WorkflowDefinition>>;
type _StepSchemaMatchesStep = Assert<Same<z.output<typeof stepSchema>, StepDefinition>>;

/**
 * Checks the shape of a workflow definition (not yet its graph: see compileWorkflow).
 * Throws VALIDATION naming the offending field, e.g. `steps[2].retry.maxRetries`.
 */
export function parseWorkflowDefinition(input: unknown): WorkflowDefinition {
  return parseInput(workflowDefinitionSchema, input);
}

/** The JSON Schema (draft 2020-12) of a definition, as committed in docs/workflow-definition.schema.json. */
export function workflowJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(workflowDefinitionSchema, { target: 'draft-2020-12' });
}
