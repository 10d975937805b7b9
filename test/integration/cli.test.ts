/**
 * The `conveyor` CLI as users run it: the built dist/cli/main.js (npm test builds first),
 * spawned with a clean environment, against servers it starts itself on temp SQLite files.
 * Covers the client commands, their exit codes (0 ok, 1 failure, 2 usage), progress output
 * when stdout is not a terminal, API keys, receipt verification done by the client itself,
 * and SIGTERM draining a running task. PostgreSQL workers: cli-postgres.test.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../helpers/conveyors.js';
import { CLI, cli, killAll, ROOT, shippedMigrations, startCli, type CliServer } from './cli-process.js';

// Servers of tests that failed half way; shared servers are stopped by their own afterAll.
afterAll(() => killAll());

const json = (text: string): any => JSON.parse(text);

describe('usage', () => {
  it('--help lists every command, and each command has its own help with an example', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const name of ['start', 'server', 'worker', 'mcp', 'migrate', 'task', 'run', 'receipts'])
      expect(top.stdout).toContain(name);
    const add = await cli(['task', 'add', '--help']);
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/--payload <json>/);
    expect(add.stdout).toMatch(/Example:\n {2}\$ conveyor task add/);
  });

  it('an unknown flag, a bad value, an unreadable or invalid file exit 2 with a message', async () => {
    const dir = tempDir('conveyor-cli-');
    writeFileSync(join(dir, 'broken.json'), '{"name": "x", ');
    const unknown = await cli(['task', 'list', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'/);
    const badJson = await cli(['task', 'add', 'noop', '--payload', '{nope']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/--payload <json>.*is not valid JSON/);
    const badFile = await cli(['run', join(dir, 'broken.json')]);
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toMatch(/broken\.json is not valid JSON/);
    const missing = await cli(['run', join(dir, 'missing.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read workflow file .*missing\.json \(ENOENT\)/);
    expect((await cli(['start', '--mode', 'everything'])).code).toBe(2);
  });

  it('a server that is not there is one clear line naming the URL, exit 1', async () => {
    // A port that was free a moment ago and is closed now.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const r = await cli(['task', 'get', 'x', '--url', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach the Conveyor server at http://127.0.0.1:${port}`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a bad CONVEYOR_MODE fails the start with exit 1, naming the variable', async () => {
    const r = await cli(['start'], { CONVEYOR_MODE: 'everything' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot start: CONVEYOR_MODE must be one of all, api, worker, mcp/);
  });
});

describe('against `conveyor start` on a SQLite file', () => {
  let server: CliServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('conveyor-cli-');
    // A handler that writes log lines, for `task logs`.
    writeFileSync(
      join(dir, 'handlers.mjs'),
      `export default { chatty: async (p, ctx) => {
         for (let i = 1; i <= p.lines; i++) { await ctx.log('line ' + i); await new Promise((r) => setTimeout(r, 20)); }
         return { lines: p.lines };
       } };`,
    );
    server = await startCli(
      ['start', '--port', '0', '--database', join(dir, 'cli.db'), '--handlers', join(dir, 'handlers.mjs')],
      {},
    );
  });
  afterAll(() => server.stop());
  const run = (...args: string[]) => cli([...args, '--url', server.url]);

  it('task add --wait --json prints the finished task; the live lines go to stderr', async () => {
    const r = await run('task', 'add', 'noop', '--payload', '{"hello":"world"}', '--wait', '--json');
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ type: 'noop', status: 'completed', result: { hello: 'world' } });
    expect(r.stderr).toMatch(/noop\s+completed/);
  });

  it('task add --wait exits 1 when the task fails, with its error', async () => {
    const r = await run('task', 'add', 'sleep', '--payload', '{"ms":-1}', '--wait');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/sleep\s+failed/);
    expect(r.stderr).toMatch(/failed: NON_RETRYABLE: sleep: payload\.ms must be/);
  });

  it('task get, list, cancel, retry', async () => {
    const added = json((await run('task', 'add', 'sleep', '--payload', '{"ms":600000}', '--json')).stdout);
    const cancelled = await run('task', 'cancel', added.id);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`task ${added.id} cancelled`);
    const again = await run('task', 'cancel', added.id);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^INVALID_TRANSITION: /);
    const retried = json((await run('task', 'retry', added.id, '--json')).stdout);
    expect(retried).toMatchObject({ type: 'sleep', retry_of: added.id });
    await run('task', 'cancel', retried.id);
    const got = await run('task', 'get', retried.id);
    expect(got.stdout).toMatch(/status: +cancelled/);
    expect(got.stdout).toMatch(new RegExp(`retry of: +${added.id}`));
    const list = json(
      (await run('task', 'list', '--status', 'cancelled', '--type', 'sleep', '--json')).stdout,
    );
    expect(list.tasks.map((t: { id: string }) => t.id)).toEqual([retried.id, added.id]);
    const table = await run('task', 'list', '--status', 'cancelled', '--limit', '1');
    expect(table.stdout).toMatch(/^ID +TYPE +STATUS/);
    expect(table.stdout).toContain('more: --cursor ');
  });

  it('task logs prints the lines; --follow until the task finishes', async () => {
    const added = json(
      (await run('task', 'add', 'chatty', '--payload', '{"lines":5}', '--json', '--name', 'talk')).stdout,
    );
    const followed = await run('task', 'logs', added.id, '--follow', '--interval', '50');
    expect(followed.code).toBe(0);
    expect(followed.stdout.match(/\[attempt 1\] line \d/g)).toEqual(
      [1, 2, 3, 4, 5].map((i) => `[attempt 1] line ${i}`),
    );
    const logs = json((await run('task', 'logs', added.id, '--json')).stdout);
    expect(logs.logs.map((l: { message: string }) => l.message)).toEqual([
      'line 1',
      'line 2',
      'line 3',
      'line 4',
      'line 5',
    ]);
  });

  it('an unknown id is NOT_FOUND, exit 1', async () => {
    const r = await run('task', 'get', 'no-such-task');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^NOT_FOUND: work item "no-such-task" not found/);
  });

  it('run --watch follows the demo workflow step by step and exits 0', async () => {
    const r = await run('run', join(ROOT, 'examples/demo-workflow.json'), '--watch');
    expect(r.code, r.stderr).toBe(0);
    for (const step of ['fetch', 'lint', 'unit-tests', 'security-scan', 'package', 'publish']) {
      expect(r.stdout).toMatch(new RegExp(`^${step} +running$`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^${step} +completed$`, 'm'));
    }
    expect(r.stdout).toMatch(/workflow demo-release \S+ completed\n$/);
  });

  it('a workflow that fails exits 1 and names the failed step and its error', async () => {
    writeFileSync(
      join(dir, 'failing.json'),
      JSON.stringify({
        name: 'failing',
        steps: [
          { id: 'prepare', type: 'noop' },
          { id: 'nap', type: 'sleep', deps: ['prepare'], input: { ms: '{{input.ms}}' } },
          { id: 'after', type: 'noop', deps: ['nap'] },
        ],
      }),
    );
    const r = await run('run', join(dir, 'failing.json'), '--watch', '--input', '{"ms":-5}');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^nap +failed/m);
    expect(r.stderr).toMatch(/workflow failing \(\S+\) failed/);
    expect(r.stderr).toMatch(/step nap failed: NON_RETRYABLE: sleep: payload\.ms must be/);
    expect(r.stderr).toMatch(/skipped: after/);
  });

  it('run without --watch starts the workflow and returns its id', async () => {
    const r = await run('run', join(ROOT, 'examples/demo-workflow.json'), '--json');
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ name: 'demo-release', status: 'running' });
  });

  it('receipts --verify recomputes the chain here: OK', async () => {
    const task = json((await run('task', 'add', 'noop', '--wait', '--json')).stdout);
    const r = await run('receipts', task.id, '--verify');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^SEQ +STATUS/);
    expect(r.stdout).toMatch(/verified here: OK \(3 receipts\)/);
    const answer = json((await run('receipts', task.id, '--verify', '--json')).stdout);
    expect(answer).toMatchObject({ valid: true, local: { valid: true }, server: { valid: true } });
  });

  it('receipts --verify does not take the server at its word: a changed receipt is caught here', async () => {
    const task = json(
      (await run('task', 'add', 'noop', '--payload', '{"paid":100}', '--wait', '--json')).stdout,
    );
    const chain: any = await (await fetch(`${server.url}/api/tasks/${task.id}/receipts`)).json();
    chain.receipts[2].output = { paid: 1000 }; // as a lying server would serve it
    const liar = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(chain)),
    );
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
      const r = await cli(['receipts', task.id, '--verify', '--url', url]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/verified here: BROKEN at receipt seq 3: receiptHash does not match/);
      expect(r.stdout).toMatch(/server says: +OK/);
    } finally {
      liar.close();
    }
  });
});

describe('a tampered database', () => {
  it('receipts --verify names the first broken receipt and exits 1', async () => {
    const db = join(tempDir('conveyor-cli-'), 'tamper.db');
    let server = await startCli(['start', '--port', '0', '--database', db], {});
    const task = json(
      (await cli(['task', 'add', 'sleep', '--payload', '{"ms":10}', '--wait', '--json', '--url', server.url]))
        .stdout,
    );
    expect(await server.stop()).toBe(0);
    const sqlite = new Database(db);
    sqlite
      .prepare('UPDATE events SET receipt_progress = 99 WHERE item_id = ? AND receipt_seq = 2')
      .run(task.id);
    sqlite.close();
    server = await startCli(['start', '--port', '0', '--database', db], {});
    const r = await cli(['receipts', task.id, '--verify', '--url', server.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/verified here: BROKEN at receipt seq 2: receiptHash does not match/);
    expect(r.stderr).toMatch(/receipt chain of \S+ is broken at seq 2/);
    await server.stop();
  });
});

describe('API keys', () => {
  const KEY = 'cli-acme-key-0123456789';
  let server: CliServer;
  beforeAll(async () => {
    server = await startCli(['start', '--port', '0', '--database', ':memory:'], {
      CONVEYOR_API_KEYS: `${KEY}:acme`,
    });
  });
  afterAll(() => server.stop());

  it('--api-key or CONVEYOR_API_KEY is sent; a wrong or missing key is UNAUTHORIZED', async () => {
    expect(server.output()).toMatch(/1 tenant\(s\) with API keys/);
    const ok = await cli(['task', 'add', 'noop', '--wait', '--json', '--url', server.url, '--api-key', KEY]);
    expect(ok.code, ok.stderr).toBe(0);
    const viaEnv = await cli(['task', 'get', json(ok.stdout).id, '--json'], {
      CONVEYOR_URL: server.url,
      CONVEYOR_API_KEY: KEY,
    });
    expect(json(viaEnv.stdout)).toMatchObject({ status: 'completed' });
    const wrong = await cli(['task', 'list', '--url', server.url, '--api-key', 'wrong-key-0123456789']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^UNAUTHORIZED: /);
    expect((await cli(['task', 'list', '--url', server.url])).stderr).toMatch(/^UNAUTHORIZED: /);
  });
});

describe('server processes', () => {
  it('SIGTERM drains: a running task finishes before the process exits 0', async () => {
    const db = join(tempDir('conveyor-cli-'), 'drain.db');
    const server = await startCli(['start', '--port', '0', '--database', db, '--workers', '1'], {});
    const task = json(
      (await cli(['task', 'add', 'sleep', '--payload', '{"ms":1500}', '--json', '--url', server.url])).stdout,
    );
    await waitFor(async () => {
      const r = await cli(['task', 'get', task.id, '--json', '--url', server.url]);
      return json(r.stdout).status === 'running';
    }, 'the task to run');
    expect(await server.stop()).toBe(0);
    expect(server.output()).toMatch(/SIGTERM: draining workers and closing/);
    const sqlite = new Database(db, { readonly: true });
    const row = sqlite.prepare('SELECT status FROM items WHERE id = ?').get(task.id) as { status: string };
    sqlite.close();
    expect(row.status).toBe('completed');
  });

  it('--enable-shell registers the built-in shell type', async () => {
    const server = await startCli(['start', '--port', '0', '--database', ':memory:', '--enable-shell'], {});
    const r = await cli([
      'task',
      'add',
      'shell',
      '--payload',
      '{"command":"echo hi"}',
      '--wait',
      '--json',
      '--url',
      server.url,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.stringify(json(r.stdout).result)).toContain('hi');
    expect(await server.stop()).toBe(0);
  });

  it('migrate --json opens the store and lists the applied migrations', async () => {
    const db = join(tempDir('conveyor-cli-'), 'migrate.db');
    const r = await cli(['migrate', '--database', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const answer = json(r.stdout);
    const shipped = shippedMigrations('sqlite');
    expect(shipped.slice(0, 3)).toEqual(['1 init', '2 workflows', '3 service']);
    expect(answer).toMatchObject({ backend: 'sqlite', database: db, version: shipped.length });
    expect(answer.migrations.map((m: { version: number; name: string }) => `${m.version} ${m.name}`)).toEqual(
      shipped,
    );
    // Again, on the variable: nothing left to apply, the same list.
    const text = await cli(['migrate'], { CONVEYOR_DATABASE_URL: db });
    expect(text.stdout).toMatch(new RegExp(`^sqlite .*migrate\\.db: schema version ${shipped.length}\n`));
    expect(text.stdout).toMatch(/^0001 +init +\d{4}-/m);
  });

  it('conveyor mcp serves the MCP tools over stdio', async () => {
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'mcp', '--database', ':memory:', '--workers', '1'],
        env: { PATH: process.env.PATH ?? '' },
        stderr: 'pipe',
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('task_async');
    } finally {
      await client.close();
    }
  });
});
