/**
 * Running the built CLI (dist/cli/main.js) in tests: one-shot commands to completion, and
 * long-running ones (start, server, worker) until the line that says they are up. Every
 * child gets a clean environment (PATH only, plus what the test passes), so a developer's
 * own CONVEYOR_* settings cannot leak in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist/cli/main.js');

const children = new Set<ChildProcess>();

/** `<version> <name>` of each migration file a backend ships, in order. */
export function shippedMigrations(backend: 'sqlite' | 'postgres'): string[] {
  return readdirSync(join(ROOT, 'src/store', backend, 'migrations'))
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => `${Number(f.slice(0, 4))} ${f.slice(5, -4)}`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const cleanEnv = (env: Record<string, string>) => ({ PATH: process.env.PATH ?? '', ...env });

/** Runs `conveyor <args>` to its end. */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface CliServer {
  child: ChildProcess;
  /** The API's URL (empty for a worker). */
  url: string;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

/** Starts `conveyor <args>` and waits for `ready` (default: the API's start line). */
export async function startCli(
  args: string[],
  env: Record<string, string>,
  ready: RegExp = /API on (http:\/\/\S+)/,
): Promise<CliServer> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m[1] ?? '');
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`conveyor ${args.join(' ')} exited with ${code}: ${out}`)));
  });
  return {
    child,
    url,
    output: () => out,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited(child);
    },
  };
}

/** SIGKILLs whatever a failed test left running. */
export function killAll(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.clear();
}
