/**
 * `conveyor server --workers 0` and `conveyor worker` as separate processes on one
 * PostgreSQL database (a private one, created here and dropped after, so files running
 * beside this one see nothing of it): the server only enqueues, the worker drains, and
 * SIGTERM stops the worker cleanly. `migrate` reports the PostgreSQL schema's migrations.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, requirePostgres } from '../helpers/backends.js';
import { waitFor } from '../helpers/conveyors.js';
import { cli, killAll, shippedMigrations, startCli, type CliServer } from './cli-process.js';

const available = await requirePostgres('cli-postgres.test.ts');
const DATABASE = `conveyor_cli_${randomBytes(4).toString('hex')}`;
const url = (() => {
  const u = new URL(PG_URL);
  u.pathname = `/${DATABASE}`;
  return u.href;
})();

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe.runIf(available)('CLI on PostgreSQL', () => {
  let server: CliServer | undefined;
  beforeAll(() => admin(`CREATE DATABASE ${DATABASE}`));
  afterAll(async () => {
    await server?.stop();
    killAll();
    await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  });

  it('a worker process drains what a server without workers enqueued; SIGTERM stops it', async () => {
    server = await startCli(['server', '--port', '0', '--database', url], {});
    const api = server.url;
    const add = async (n: number) => {
      const r = await cli([
        'task',
        'add',
        'noop',
        '--payload',
        JSON.stringify({ n }),
        '--json',
        '--url',
        api,
      ]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { id: string; status: string };
    };
    const first = await add(1);
    expect(first.status).toBe('queued');
    // Bulk over HTTP; the CLI's own add is covered above.
    for (let n = 2; n <= 20; n++)
      await fetch(`${api}/api/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'noop', payload: { n } }),
      });
    // Nothing runs them yet: the server has no workers.
    const before = await cli(['task', 'get', first.id, '--json', '--url', api]);
    expect(JSON.parse(before.stdout)).toMatchObject({ status: 'queued' });

    const worker = await startCli(
      ['worker', '--database', url, '--concurrency', '4', '--types', 'noop', '--id', 'cli-pg-worker'],
      {},
      /conveyor: worker (\S+) on postgres/,
    );
    expect(worker.url).toBe('cli-pg-worker');
    const completed = async () => {
      const r = await cli(['task', 'list', '--status', 'completed', '--json', '--url', api]);
      return (JSON.parse(r.stdout) as { tasks: { executor_id: string }[] }).tasks;
    };
    await waitFor(async () => (await completed()).length === 20, 'the worker to drain 20 tasks', 30_000);
    expect(new Set((await completed()).map((t) => t.executor_id))).toEqual(new Set(['cli-pg-worker']));
    expect(await worker.stop()).toBe(0);
    expect(worker.output()).toMatch(/SIGTERM: draining workers and closing/);
  });

  it('migrate --json names the backend and the applied versions', async () => {
    const r = await cli(['migrate', '--database', url, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout) as {
      backend: string;
      version: number;
      migrations: { version: number; name: string }[];
    };
    const shipped = shippedMigrations('postgres');
    expect(answer.backend).toBe('postgres');
    expect(answer.migrations.map((m) => `${m.version} ${m.name}`)).toEqual(shipped);
    expect(answer.version).toBe(shipped.length);
  });

  it('--types naming a type nobody handles is a usage error', async () => {
    const r = await cli(['worker', '--database', url, '--types', 'noop,teleport']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--types: no handler for teleport/);
  });
});
