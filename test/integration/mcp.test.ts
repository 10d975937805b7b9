/**
 * The MCP tools (CONTRACT §7) through the real MCP SDK client: over Streamable HTTP at
 * `POST /mcp` of a real server (with API keys: tenants hold there too), and over stdio
 * from the `conveyor-mcp` process (the built dist/). Bad input is a tool error, never a
 * crash.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseApiKeys } from '../../src/server.js';
import { startTestApi, type TestApi } from '../helpers/api-server.js';
import { tempDir, waitFor } from '../helpers/conveyors.js';

const ACME = 'acme-key-0123456789';
const GLOBEX = 'globex-key-0123456789';
const TOOLS = [
  'task_async',
  'task_status',
  'task_cancel',
  'list_tasks',
  'workflow_create',
  'workflow_add_phase',
  'workflow_add_task',
  'workflow_start',
  'workflow_status',
  'invoke_async',
  'invoke_status',
];

interface ToolAnswer {
  isError: boolean;
  value: any;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolAnswer> {
  const r = (await client.callTool({ name, arguments: args })) as {
    isError?: boolean;
    content: Array<{ type: string; text: string }>;
  };
  const text = r.content[0]?.text ?? '';
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // an SDK message (input validation), kept as text
  }
  return { isError: r.isError === true, value };
}

async function httpClient(api: TestApi, key: string): Promise<Client> {
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

describe('MCP over Streamable HTTP (POST /mcp)', () => {
  let api: TestApi;
  let acme: Client;
  beforeEach(async () => {
    api = await startTestApi({
      config: { apiKeys: parseApiKeys(`${ACME}:acme,${GLOBEX}:globex`) },
      handlers: { echo: (p: unknown) => p },
    });
    acme = await httpClient(api, ACME);
  });
  afterEach(async () => {
    await acme.close();
    await api.close();
  });

  it('lists the eleven tools, each with a JSON input schema', async () => {
    const { tools } = await acme.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOLS].sort());
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.description).toBeTruthy();
    }
    const taskAsync = tools.find((t) => t.name === 'task_async')!;
    expect(Object.keys(taskAsync.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['type', 'agent_name', 'agent_instructions', 'webhook_url', 'priority']),
    );
  });

  it('task_async → task_status until completed; list_tasks; task_cancel', async () => {
    const started = await call(acme, 'task_async', { name: 'Echo', type: 'echo', payload: { x: 1 } });
    expect(started.isError).toBe(false);
    const taskId = started.value.task_id as string;
    await waitFor(
      async () => (await call(acme, 'task_status', { task_id: taskId })).value.status === 'completed',
      'task completed',
    );
    const status = await call(acme, 'task_status', { task_id: taskId });
    expect(status.value).toMatchObject({ name: 'Echo', result: { x: 1 }, attempts: 1, logs: [] });
    const agent = await call(acme, 'task_async', { agent_name: 'echo', agent_instructions: 'summarise' });
    expect(agent.isError).toBe(false);
    const held = await call(acme, 'task_async', { type: 'nobody-runs-this' });
    const cancelled = await call(acme, 'task_cancel', { task_id: held.value.task_id });
    expect(cancelled.value.status).toBe('cancelled');
    const again = await call(acme, 'task_cancel', { task_id: held.value.task_id });
    expect(again.isError).toBe(true);
    expect(again.value.error.code).toBe('INVALID_TRANSITION');
    const list = await call(acme, 'list_tasks', { status: 'cancelled' });
    expect(list.value.tasks.map((t: { id: string }) => t.id)).toEqual([held.value.task_id]);
  });

  it('workflow_create → add_phase → add_task → start → workflow_status', async () => {
    const wf = await call(acme, 'workflow_create', { name: 'feature', description: 'auth' });
    expect(wf.value.status).toBe('draft');
    const workflow_id = wf.value.workflow_id as string;
    expect((await call(acme, 'workflow_add_phase', { workflow_id, phase_id: 'design' })).isError).toBe(false);
    expect(
      (await call(acme, 'workflow_add_phase', { workflow_id, phase_id: 'build', depends_on: ['design'] }))
        .isError,
    ).toBe(false);
    const t1 = await call(acme, 'workflow_add_task', {
      workflow_id,
      phase_id: 'design',
      name: 'Architecture',
      agent_name: 'echo',
      agent_instructions: 'design it',
    });
    expect(t1.value.task_id).toBe('architecture');
    await call(acme, 'workflow_add_task', {
      workflow_id,
      phase_id: 'build',
      name: 'Implement',
      type: 'echo',
      payload: 'code',
      dependencies: ['Architecture'],
    });
    const started = await call(acme, 'workflow_start', { workflow_id });
    expect(started.value.status).toBe('running');
    await waitFor(
      async () => (await call(acme, 'workflow_status', { workflow_id })).value.status === 'completed',
      'workflow completed',
    );
    const status = await call(acme, 'workflow_status', { workflow_id });
    expect(status.value.phases.map((p: { status: string }) => p.status)).toEqual(['completed', 'completed']);
    expect(status.value.results.implement).toBe('code');
    const late = await call(acme, 'workflow_add_phase', { workflow_id, phase_id: 'late' });
    expect(late.isError).toBe(true);
    expect(late.value.error.code).toBe('CONFLICT');
  });

  it('invoke_async creates and starts in one call; invoke_status follows the thread', async () => {
    const r = await call(acme, 'invoke_async', {
      name: 'pipeline',
      input: { n: 2 },
      steps: [
        { id: 'a', type: 'echo', input: '{{input.n}}' },
        { id: 'b', type: 'echo', deps: ['a'], input: { got: '{{steps.a.output}}' } },
      ],
    });
    expect(r.isError).toBe(false);
    const threadId = r.value.threadId as string;
    await waitFor(
      async () => (await call(acme, 'invoke_status', { threadId })).value.status === 'completed',
      'thread completed',
    );
    expect((await call(acme, 'invoke_status', { threadId })).value.results).toEqual({ a: 2, b: { got: 2 } });
    // The agent form: role + task text whose templates read earlier outputs.
    const agents = await call(acme, 'invoke_async', {
      name: 'agents',
      steps: [
        { id: 'design', role: 'echo', task: 'Design the API' },
        { id: 'build', role: 'echo', task: 'Build from {{steps.design.output.task}}', deps: ['design'] },
      ],
    });
    expect(agents.isError).toBe(false);
    const agentThread = agents.value.threadId as string;
    await waitFor(
      async () => (await call(acme, 'invoke_status', { threadId: agentThread })).value.status === 'completed',
      'agent thread completed',
    );
    expect((await call(acme, 'invoke_status', { threadId: agentThread })).value.results).toEqual({
      design: { task: 'Design the API', role: 'echo' },
      build: { task: 'Build from Design the API', role: 'echo' },
    });
    const withTasks = await call(acme, 'invoke_async', {
      name: 'seedy',
      tasks: [{ name: 'One', type: 'echo', payload: 1 }],
    });
    expect(withTasks.isError).toBe(false);
  });

  it('bad input is a tool error naming the problem, and changes nothing', async () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['task_async', { type: 5 }],
      ['task_async', { type: 'echo', bogus: true }],
      ['task_async', {}],
      ['task_async', { type: 'echo', agent_name: 'echo' }],
      ['task_async', { type: 'echo', webhook_url: 'ftp://x' }],
      ['task_async', { type: 'echo', dependencies: ['nope'] }],
      ['task_status', { task_id: 'has spaces' }],
      ['task_status', { task_id: 'missing' }],
      ['list_tasks', { status: 'bogus' }],
      ['workflow_add_task', { workflow_id: 'missing', name: 'x', type: 'echo' }],
      ['invoke_async', { name: 'cyc', steps: [{ id: 'a', type: 'e', deps: ['a'] }] }],
      ['invoke_async', { name: 'both', steps: [{ id: 'a', type: 'e', role: 'e', task: 'x' }] }],
      ['invoke_async', { name: 'num', steps: [{ id: 'a', role: 'e', task: 5 }] }],
      ['invoke_async', { name: 'unknown', steps: [{ id: 'a', role: 'e', task: 'x', deps: ['zz'] }] }],
      ['invoke_status', { threadId: 'missing' }],
    ];
    for (const [tool, args] of cases) {
      const r = await call(acme, tool, args);
      expect(r.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
    }
    expect((await call(acme, 'task_status', { task_id: 'missing' })).value.error.code).toBe('NOT_FOUND');
    expect((await call(acme, 'list_tasks', {})).value.tasks).toEqual([]);
    await expect(acme.callTool({ name: 'no_such_tool', arguments: {} })).resolves.toMatchObject({
      isError: true,
    });
    expect((await api.request('GET', '/health', { key: ACME })).status).toBe(200);
  });

  it("acts as the key's tenant: another tenant's tasks and workflows are not found", async () => {
    const globex = await httpClient(api, GLOBEX);
    try {
      const t = await call(acme, 'task_async', { type: 'nobody-runs-this' });
      const w = await call(acme, 'workflow_create', { name: 'private' });
      for (const [tool, args] of [
        ['task_status', { task_id: t.value.task_id }],
        ['task_cancel', { task_id: t.value.task_id }],
        ['workflow_status', { workflow_id: w.value.workflow_id }],
        ['workflow_add_phase', { workflow_id: w.value.workflow_id, phase_id: 'x' }],
        ['workflow_start', { workflow_id: w.value.workflow_id }],
      ] as const) {
        const r = await call(globex, tool, args);
        expect(r.isError, tool).toBe(true);
        expect(r.value.error.code, tool).toBe('NOT_FOUND');
      }
      expect((await call(globex, 'list_tasks', {})).value.tasks).toEqual([]);
      expect((await call(acme, 'task_status', { task_id: t.value.task_id })).value.status).not.toBe(
        'cancelled',
      );
      const res = await fetch(`${api.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(401);
    } finally {
      await globex.close();
    }
  });
  it('a body refused before the transport is still answered as JSON-RPC', async () => {
    // Found by the fuzzer (issue 7): these got the API's own error body, which an MCP
    // client cannot read as a reply.
    const post = async (body: string) => {
      const res = await fetch(`${api.url}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ACME}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body,
      });
      return { status: res.status, json: (await res.json()) as Record<string, any> };
    };
    const poisoned = await post(
      '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_tasks","arguments":{"__proto__":{"x":1}}}}',
    );
    expect(poisoned.status).toBe(400);
    expect(poisoned.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    expect(poisoned.json.error.data.code).toBe('VALIDATION');
    const broken = await post('{"jsonrpc":"2.0",');
    expect(broken.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
    const big = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'x', params: 'y'.repeat(2 ** 21) }),
    );
    expect(big.status).toBe(413);
    expect(big.json).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32600, data: { code: 'PAYLOAD_TOO_LARGE' } },
    });
    const anonymous = await fetch(`${api.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32600, data: { code: 'UNAUTHORIZED' } },
    });
    // The rest of the API keeps its own error body.
    const res = await fetch(`${api.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ACME}`, 'content-type': 'application/json' },
      body: '{"type":',
    });
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VALIDATION');
  });
});

describe('MCP over stdio (conveyor-mcp)', () => {
  it('runs tools against its store, with built-in handlers in its worker', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [join(root, 'dist/api/mcp/main.js')],
        env: {
          PATH: process.env.PATH ?? '',
          CONVEYOR_DATABASE_URL: join(tempDir(), 'mcp.db'),
          CONVEYOR_WORKERS: '2',
        },
        stderr: 'pipe',
      }),
    );
    try {
      expect((await client.listTools()).tools).toHaveLength(TOOLS.length);
      const t = await call(client, 'task_async', { type: 'noop', payload: { ok: true } });
      await waitFor(
        async () =>
          (await call(client, 'task_status', { task_id: t.value.task_id })).value.status === 'completed',
        'completed over stdio',
      );
      expect((await call(client, 'task_status', { task_id: t.value.task_id })).value.result).toEqual({
        ok: true,
      });
      const bad = await call(client, 'task_async', { type: { nested: 1 } });
      expect(bad.isError).toBe(true);
      // Still serving after the bad call.
      expect((await call(client, 'list_tasks', {})).value.tasks).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});
