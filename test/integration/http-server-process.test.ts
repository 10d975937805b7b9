/**
 * The `conveyor-server` entry point as users run it: a process configured by CONVEYOR_*
 * variables, with handlers loaded from CONVEYOR_HANDLERS, that drains and exits 0 on
 * SIGTERM, and refuses to start (exit 1, naming the variable) on a bad setting. Runs the
 * built `dist/` (npm test builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/conveyors.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const main = join(root, 'dist/api/http/main.js');
const children: ChildProcess[] = [];

function start(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  url: Promise<string>;
} {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /API on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  return { child, output: () => out, url };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('conveyor-server', () => {
  it('serves the API with handlers from CONVEYOR_HANDLERS and exits 0 on SIGTERM', async () => {
    const database = join(tempDir(), 'server.db');
    const s = start({
      CONVEYOR_DATABASE_URL: database,
      CONVEYOR_PORT: '0',
      CONVEYOR_WORKERS: '2',
      CONVEYOR_HANDLERS: join(root, 'test/fixtures/handlers.mjs'),
    });
    const url = await s.url;
    expect(s.output()).toMatch(/no API keys configured: one tenant, loopback only/);
    const created = (await (
      await fetch(`${url}/api/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'double', payload: { n: 21 } }),
      })
    ).json()) as { id: string };
    let task: { status: string; result: unknown } = { status: 'queued', result: null };
    for (let i = 0; i < 200 && task.status !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      task = (await (await fetch(`${url}/api/tasks/${created.id}`)).json()) as typeof task;
    }
    expect(task).toMatchObject({ status: 'completed', result: { doubled: 42 } });
    s.child.kill('SIGTERM');
    expect(await exited(s.child)).toBe(0);
    expect(s.output()).toMatch(/SIGTERM: draining workers and closing/);
  });

  it('asked for 0.0.0.0 without API keys, it listens on loopback and says so', async () => {
    const s = start({ CONVEYOR_DATABASE_URL: ':memory:', CONVEYOR_PORT: '0', CONVEYOR_HOST: '0.0.0.0' });
    const url = await s.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect(s.output()).toMatch(/listening on loopback only, not on 0\.0\.0\.0/);
    s.child.kill('SIGTERM');
    expect(await exited(s.child)).toBe(0);
  });

  it.each([
    [{ CONVEYOR_PORT: 'eighty' }, /CONVEYOR_PORT/],
    [{ CONVEYOR_API_KEYS: 'short:acme' }, /CONVEYOR_API_KEYS/],
    [{ CONVEYOR_WEBHOOK_ALLOWLIST: '10.0.0.0/99' }, /CONVEYOR_WEBHOOK_ALLOWLIST/],
    [{ CONVEYOR_WEBHOOK_SECRET: 'not-a-secret' }, /CONVEYOR_WEBHOOK_SECRET/],
    [{ CONVEYOR_WORKERS: '-1' }, /CONVEYOR_WORKERS/],
    [{ CONVEYOR_API_KEY_FILE: '/nonexistent/keys.json' }, /CONVEYOR_API_KEY_FILE/],
  ])('refuses to start on a bad setting (%o)', async (env, message) => {
    const s = start({ CONVEYOR_DATABASE_URL: ':memory:', ...env });
    s.url.catch(() => {});
    expect(await exited(s.child)).toBe(1);
    expect(s.output()).toMatch(message);
    expect(s.output()).toMatch(/cannot start/);
  });
});
