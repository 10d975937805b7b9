/**
 * @module schemas
 * JSON Schemas of the API's parameters, queries and bodies. Fastify validates every
 * request against them before a handler runs, and the OpenAPI document (`/openapi.json`,
 * `/docs`) is generated from the same objects, so the docs cannot drift from what is
 * enforced. The library validates again behind them (zod), which is what names fields
 * that only it knows (a workflow's `steps[3].retry.maxRetries`).
 */

export const ID = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.:@/-]+$' } as const;
const NAME = { type: 'string', minLength: 1, maxLength: 500 } as const;
const TYPE = ID;
const URL = {
  type: 'string',
  minLength: 1,
  maxLength: 2048,
  format: 'uri',
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
} as const;
const IDS = { type: 'array', items: ID, maxItems: 1000 } as const;
const CAPABILITIES = { type: 'array', items: ID, maxItems: 64 } as const;
const PRIORITY = {
  anyOf: [
    { type: 'integer', minimum: -1_000_000, maximum: 1_000_000 },
    { type: 'string', enum: ['low', 'normal', 'high', 'critical'] },
  ],
} as const;
const SECONDS = { type: 'number', exclusiveMinimum: 0, maximum: 315_360_000 } as const;
const ANY = {} as const;
const BUDGET = {
  type: 'object',
  maxProperties: 64,
  additionalProperties: { type: 'number', minimum: 0 },
} as const;
const CURSOR = { type: 'string', pattern: '^\\d+$', maxLength: 30 } as const;
const LIMIT = { type: 'integer', minimum: 1, maximum: 1000 } as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: ID },
  additionalProperties: false,
} as const;

export const taskIdParams = {
  type: 'object',
  required: ['task_id'],
  properties: { task_id: ID },
  additionalProperties: false,
} as const;

/** The fields a task and a workflow's task share: what runs and with what. */
const taskCore = {
  name: NAME,
  type: TYPE,
  agent_name: TYPE,
  payload: ANY,
  agent_instructions: { type: 'string', maxLength: 100_000 },
  priority: PRIORITY,
  timeout_seconds: SECONDS,
  max_retries: { type: 'integer', minimum: 0, maximum: 1000 },
  required_capabilities: CAPABILITIES,
} as const;

export const createTaskBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...taskCore,
    queue: ID,
    webhook_url: URL,
    dependencies: IDS,
    idempotency_key: { type: 'string', minLength: 1, maxLength: 500 },
    delay_seconds: { type: 'number', minimum: 0, maximum: 315_360_000 },
    budget: BUDGET,
    backoff: {
      type: 'object',
      additionalProperties: false,
      properties: {
        type: { type: 'string', enum: ['exponential', 'fixed', 'linear'] },
        base_ms: { type: 'integer', minimum: 0 },
        max_ms: { type: 'integer', minimum: 0 },
        jitter: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
  },
} as const;

export const listTasksQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', maxLength: 200, pattern: '^[a-z,]+$' },
    type: TYPE,
    queue: ID,
    workflow_id: ID,
    limit: LIMIT,
    cursor: CURSOR,
  },
} as const;

export const limitQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: LIMIT },
} as const;

export const phaseBody = {
  type: 'object',
  additionalProperties: false,
  required: ['phase_id'],
  properties: {
    phase_id: { type: 'string', minLength: 1, maxLength: 100 },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    depends_on: { type: 'array', items: { type: 'string', maxLength: 100 }, maxItems: 1000 },
  },
} as const;

/** A task added to a workflow (the seed's form); `dependencies` name other tasks by id or name. */
export const workflowTaskBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    ...taskCore,
    id: { type: 'string', minLength: 1, maxLength: 100 },
    phase_id: { type: 'string', minLength: 1, maxLength: 100 },
    dependencies: { type: 'array', items: { type: 'string', maxLength: 500 }, maxItems: 1000 },
  },
} as const;

export function createWorkflowBody(maxSteps: number) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      id: ID,
      name: ID,
      description: { type: 'string', maxLength: 10_000 },
      input: ANY,
      start: { type: 'boolean' },
      webhook_url: URL,
      idempotency_key: { type: 'string', minLength: 1, maxLength: 500 },
      on_step_failure: { type: 'string', enum: ['failFast', 'continue'] },
      phases: { type: 'array', maxItems: 1000, items: { type: 'object' } },
      /** Steps in the workflow definition's own form (CONTRACT §5, docs/workflow-definition.schema.json). */
      steps: { type: 'array', maxItems: maxSteps, items: { type: 'object' } },
      /** Tasks in the form of POST /api/workflows/:id/tasks. */
      tasks: { type: 'array', maxItems: maxSteps, items: workflowTaskBody },
    },
  } as const;
}

export const listWorkflowsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', maxLength: 100, pattern: '^[a-z,]+$' },
    name: ID,
    limit: LIMIT,
    cursor: CURSOR,
  },
} as const;

export const workflowEventBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: ID, payload: ANY },
} as const;

export const eventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    workflow_id: ID,
    task_id: ID,
    /** For clients that cannot set the Last-Event-ID header (browsers' first connect). */
    last_event_id: { type: 'string', pattern: '^\\d+$', maxLength: 20 },
  },
} as const;

export const executorBody = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: ID,
    capabilities: CAPABILITIES,
    concurrency: { type: 'integer', minimum: 1, maximum: 10_000 },
  },
} as const;

export const claimBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    types: { type: 'array', items: TYPE, minItems: 1, maxItems: 1000 },
    queues: { type: 'array', items: ID, minItems: 1, maxItems: 1000 },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    lease_seconds: { type: 'integer', minimum: 1, maximum: 86_400 },
  },
} as const;

const EXECUTOR = { executor_id: ID } as const;
const LEASE = { lease_token: { type: 'integer' } } as const;

export const startBody = {
  type: 'object',
  additionalProperties: false,
  required: ['executor_id'],
  properties: EXECUTOR,
} as const;

export const progressBody = {
  type: 'object',
  additionalProperties: false,
  required: ['executor_id', 'percent'],
  properties: {
    ...EXECUTOR,
    percent: { type: 'number', minimum: 0, maximum: 100 },
    message: { type: 'string', maxLength: 10_000 },
  },
} as const;

const ERROR_INPUT = {
  anyOf: [
    { type: 'string', maxLength: 10_000 },
    {
      type: 'object',
      required: ['message'],
      properties: {
        message: { type: 'string', maxLength: 10_000 },
        code: { type: 'string', maxLength: 200 },
      },
    },
  ],
} as const;

export const completeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['executor_id'],
  properties: {
    ...EXECUTOR,
    ...LEASE,
    result: ANY,
    usage: BUDGET,
  },
} as const;

export const failBody = {
  type: 'object',
  additionalProperties: false,
  required: ['executor_id', 'error'],
  properties: {
    ...EXECUTOR,
    ...LEASE,
    error: ERROR_INPUT,
    retryable: { type: 'boolean' },
    retry_after_seconds: { type: 'number', minimum: 0, maximum: 315_360_000 },
  },
} as const;

/** Every response is JSON; its shape is described in docs/http.md. */
export const anyObject = { type: 'object', additionalProperties: true } as const;

export const errorResponse = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: anyObject },
      required: ['code', 'message'],
    },
  },
} as const;
