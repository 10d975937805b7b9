/**
 * @module tools
 * The MCP tools of CONTRACT §7 for AI agents: fire-and-forget tasks, their status and
 * cancel, workflows built step by step, and `invoke_async` (create + start in one call,
 * answered with a `threadId` to poll with `invoke_status`). Each tool has a JSON input
 * schema (zod, published by the SDK); bad input and failed calls come back as tool errors
 * carrying the API's error body, never as a crash. The tools are the HTTP API's operations
 * (client/api-operations.ts) with the same views, acting as one tenant.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  addWorkflowTask,
  createWorkflow,
  findWorkflow,
  ownTask,
  parseStatuses,
  startWorkflowDraft,
  toEnqueue,
  toPhase,
} from '../../client/api-operations.js';
import type { Conveyor } from '../../client/conveyor.js';
import { ValidationError } from '../../core/errors.js';
import {
  draftStatusView,
  draftView,
  logView,
  taskView,
  workflowStatusView,
  workflowView,
} from '../../client/views.js';
import { toHttpError } from '../http/error-mapping.js';
import { ITEM_STATUSES, type ItemStatus } from '../../core/item-state.js';

const id = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:@/-]+$/, 'letters, digits and _ . : @ / - only');
const text = (max: number) => z.string().min(1).max(max);
const priority = z.union([
  z.number().int().min(-1_000_000).max(1_000_000),
  z.enum(['low', 'normal', 'high', 'critical']),
]);

/** What runs: a handler type and its payload, or an agent and its instructions (the seed's form). */
const taskFields = {
  name: text(500).optional().describe('a name for people'),
  type: id.optional().describe('the handler type (or give agent_name)'),
  agent_name: id.optional().describe('the agent (handler) that runs it, with agent_instructions'),
  payload: z.unknown().optional().describe('JSON input of the handler'),
  agent_instructions: z.string().max(100_000).optional(),
  priority: priority.optional(),
  timeout_seconds: z.number().positive().max(315_360_000).optional(),
  max_retries: z.number().int().min(0).max(1000).optional(),
  required_capabilities: z.array(id).max(64).optional(),
};

const taskAsync = z.strictObject({
  ...taskFields,
  webhook_url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  dependencies: z.array(id).max(1000).optional().describe('ids of tasks that must complete first'),
  idempotency_key: text(500).optional(),
  delay_seconds: z.number().min(0).max(315_360_000).optional(),
});

const workflowTask = z.strictObject({
  ...taskFields,
  name: text(500).describe('the task name; its id is made from it (Build API → build-api)'),
  phase_id: text(100).optional(),
  dependencies: z
    .array(text(500))
    .max(1000)
    .optional()
    .describe('earlier tasks of the workflow, by id or name'),
});

/** What a workflow is created with, by workflow_create and invoke_async alike. */
const workflowFields = {
  name: id,
  description: z.string().max(10_000).optional(),
  input: z.unknown().optional(),
  webhook_url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
};

const phase = z.strictObject({
  phase_id: text(100),
  name: text(200).optional(),
  depends_on: z.array(text(100)).max(1000).optional(),
});

/**
 * invoke_async's agent form of a step: `role` names the handler (instead of `type`) and
 * `task` is its instruction text, which may hold templates (`Review {{steps.design.output}}`).
 * Such a step becomes a definition step whose input is `{ task, role }` (merged over its
 * `input` when that is an object); anything else is passed on as it is, for the
 * definition's own checks to judge.
 */
function agentStep(step: Record<string, unknown>): Record<string, unknown> {
  const { role, task, ...rest } = step;
  if (role === undefined && task === undefined) return step;
  if (role !== undefined && rest.type !== undefined)
    throw new ValidationError([{ field: 'steps[].role', message: 'give type or role, not both' }]);
  if (role !== undefined && typeof role !== 'string')
    throw new ValidationError([{ field: 'steps[].role', message: 'must be a string' }]);
  if (task !== undefined && typeof task !== 'string')
    throw new ValidationError([{ field: 'steps[].task', message: 'must be a string' }]);
  const base =
    rest.input !== null && typeof rest.input === 'object' && !Array.isArray(rest.input) ? rest.input : {};
  if (rest.input !== undefined && base !== rest.input)
    throw new ValidationError([{ field: 'steps[].input', message: 'must be an object with task or role' }]);
  return {
    ...rest,
    type: rest.type ?? role,
    input: { ...base, ...(task !== undefined ? { task } : {}), ...(role !== undefined ? { role } : {}) },
  };
}

/** A success: the JSON as text (what every client shows) and as structured content. */
const ok = (value: Record<string, unknown>): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value) }],
  structuredContent: value,
});

/** A failure as a tool error with the API's error body, so an agent can read the code and field. */
function failed(e: unknown): CallToolResult {
  const { body } = toHttpError(e);
  return { content: [{ type: 'text', text: JSON.stringify(body) }], isError: true };
}

const run = async (fn: () => Promise<Record<string, unknown>>): Promise<CallToolResult> => {
  try {
    return ok(await fn());
  } catch (e) {
    return failed(e);
  }
};

export interface McpToolOptions {
  /** The tenant every call acts as. */
  tenant: string;
  /** Most steps a workflow may hold. Default 10,000. */
  maxWorkflowSteps?: number;
}

/** An MCP server with Conveyor's tools, acting as `options.tenant`. */
export function createMcpServer(cv: Conveyor, options: McpToolOptions): McpServer {
  const tenant = options.tenant;
  const maxSteps = options.maxWorkflowSteps ?? 10_000;
  const server = new McpServer({ name: 'conveyor', version: '0.1.0' });
  const tool = <S extends z.ZodObject>(
    name: string,
    description: string,
    schema: S,
    fn: (args: z.output<S>) => Promise<Record<string, unknown>>,
  ) =>
    server.registerTool(name, { description, inputSchema: schema }, ((args: z.output<S>) =>
      run(() => fn(args))) as never);

  tool(
    'task_async',
    'Start a task and return at once with its id; poll with task_status.',
    taskAsync,
    async (a) => {
      const task = await cv.enqueueWorkItem(toEnqueue(a, tenant));
      return { task_id: task.id, status: task.status };
    },
  );

  tool(
    'task_status',
    "A task's status, result or error, progress, attempts and execution log.",
    z.strictObject({ task_id: id }),
    async (a) => {
      const task = await ownTask(cv, tenant, a.task_id);
      const logs = await cv.getWorkItemLogs(task.id, { limit: 200 });
      return { ...taskView(task), logs: logs.map(logView) };
    },
  );

  tool('task_cancel', 'Cancel a task that has not finished.', z.strictObject({ task_id: id }), async (a) => {
    await ownTask(cv, tenant, a.task_id);
    await cv.cancelWorkItem(a.task_id, null, { reason: 'cancelled over MCP' });
    return taskView(await cv.getWorkItem(a.task_id));
  });

  tool(
    'list_tasks',
    'Tasks, newest first; filter by status (comma-separated), type or workflow; page with cursor.',
    z.strictObject({
      status: z.string().max(200).optional(),
      type: id.optional(),
      workflow_id: id.optional(),
      limit: z.number().int().min(1).max(1000).optional(),
      cursor: z.string().regex(/^\d+$/).max(30).optional(),
    }),
    async (a) => {
      const status = parseStatuses(a.status, ITEM_STATUSES, 'status') as ItemStatus[] | undefined;
      const page = await cv.listWorkItems({
        tenant,
        ...(status !== undefined ? { status } : {}),
        ...(a.type !== undefined ? { type: a.type } : {}),
        ...(a.workflow_id !== undefined ? { workflowId: a.workflow_id } : {}),
        ...(a.limit !== undefined ? { limit: a.limit } : {}),
        ...(a.cursor !== undefined ? { cursor: a.cursor } : {}),
      });
      return { tasks: page.items.map(taskView), next_cursor: page.nextCursor };
    },
  );

  tool(
    'workflow_create',
    'Create a workflow draft; add phases and tasks, then workflow_start.',
    z.strictObject({
      ...workflowFields,
    }),
    async (a) => {
      const made = await createWorkflow(cv, tenant, a, maxSteps);
      return 'draft' in made ? { workflow_id: made.draft.id, ...draftView(made.draft) } : {};
    },
  );

  tool(
    'workflow_add_phase',
    'Add a phase to a draft; depends_on names phases added before.',
    phase.extend({ workflow_id: id }),
    async ({ workflow_id, ...p }) => draftView(await cv.drafts.addPhase(workflow_id, toPhase(p), { tenant })),
  );

  tool(
    'workflow_add_task',
    'Add a task to a draft, in a phase or not; dependencies name earlier tasks.',
    workflowTask.extend({ workflow_id: id }),
    async ({ workflow_id, ...t }) => {
      const added = await addWorkflowTask(cv, tenant, workflow_id, t);
      return { task_id: added.taskId, workflow: draftView(added.draft) };
    },
  );

  tool('workflow_start', 'Start a draft workflow.', z.strictObject({ workflow_id: id }), async (a) =>
    workflowView(await startWorkflowDraft(cv, tenant, a.workflow_id)),
  );

  tool(
    'workflow_status',
    "A workflow's progress: phase statuses, task counts, failed tasks, results and errors.",
    z.strictObject({ workflow_id: id }),
    async (a) => {
      const { run: r, draft } = await findWorkflow(cv, tenant, a.workflow_id);
      return r ? workflowStatusView(r) : draftStatusView(draft!);
    },
  );

  tool(
    'invoke_async',
    'Create and start a workflow in one call; returns a threadId to poll with invoke_status.',
    z.strictObject({
      ...workflowFields,
      idempotency_key: text(500).optional(),
      phases: z.array(phase).max(1000).optional(),
      tasks: z.array(workflowTask).max(maxSteps).optional().describe('tasks in the workflow_add_task form'),
      steps: z
        .array(z.record(z.string(), z.unknown()))
        .max(maxSteps)
        .optional()
        .describe(
          'steps in the workflow definition format (id, type, deps, input with templates, retry, map, …); ' +
            'or in the agent form: id, role (the handler), task (instruction text, templates allowed), deps',
        ),
    }),
    async (a) => {
      const steps = a.steps?.map(agentStep);
      const made = await createWorkflow(
        cv,
        tenant,
        { ...a, ...(steps !== undefined ? { steps } : {}), start: true },
        maxSteps,
      );
      const r = 'run' in made ? made.run : undefined;
      return { threadId: r?.id ?? null, status: r?.status ?? null };
    },
  );

  tool(
    'invoke_status',
    "The status of an invoke_async thread: its workflow's progress, results and errors.",
    z.strictObject({ threadId: id }),
    async (a) => {
      const { run: r, draft } = await findWorkflow(cv, tenant, a.threadId);
      return { threadId: a.threadId, ...(r ? workflowStatusView(r) : draftStatusView(draft!)) };
    },
  );

  return server;
}
