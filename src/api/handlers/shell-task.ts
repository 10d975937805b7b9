/**
 * @module handlers/shell-task
 * The built-in `shell` task type (CONTRACT §8), off unless the operator enables it
 * (`--enable-shell`, CONVEYOR_SHELL=true): whoever can add a task can then run commands
 * as the server's user, so it is for trusted set-ups only. `command` alone runs through
 * `/bin/sh -c`; with `args` the program runs directly, with no shell to interpret them.
 * A non-zero exit fails the attempt (retried with the item's backoff); the output is kept
 * (its last 64 KiB per stream) and its first lines go to the task's log. Cancelling or a
 * timeout sends SIGTERM to the process group, then SIGKILL after 5 s.
 */
import { spawn } from 'node:child_process';
import { z } from 'zod';
import type { Handler } from '../../worker/handler-context.js';
import { parsePayload } from './payload.js';

const KEEP_CHARS = 64 * 1024;
const LOG_LINES = 200;
const KILL_GRACE_MS = 5000;

const payloadSchema = z.strictObject({
  command: z
    .string()
    .min(1)
    .max(64 * 1024),
  args: z
    .array(z.string().max(64 * 1024))
    .max(1000)
    .optional(),
  cwd: z.string().min(1).max(4096).optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a variable name'), z.string()).optional(),
  /** Written to the process's stdin, which is then closed. */
  stdin: z
    .string()
    .max(10 * 1024 * 1024)
    .optional(),
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(24 * 3600 * 1000)
    .optional(),
});

/** Keeps the tail of a stream: the end of the output is where the error usually is. */
class Tail {
  text = '';
  lines = 0;
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-KEEP_CHARS);
  }
}

export const shellTask: Handler = async (payload: unknown, ctx) => {
  const p = parsePayload(payloadSchema, payload, 'shell');
  const [program, argv] = p.args ? [p.command, p.args] : ['/bin/sh', ['-c', p.command]];
  const child = spawn(program, argv, {
    cwd: p.cwd,
    env: { ...process.env, ...p.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group, so a kill reaches what the shell started too.
    detached: true,
  });
  const out = new Tail();
  const err = new Tail();
  let logged = 0;
  const logLines = (chunk: string, stream: string) => {
    for (const line of chunk.split('\n')) {
      if (line === '' || logged >= LOG_LINES) continue;
      logged++;
      void ctx.log(`${stream}: ${line}`).catch(() => {});
    }
  };
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out.push(c), logLines(c, 'stdout')));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err.push(c), logLines(c, 'stderr')));
  child.stdin.on('error', () => {}); // a command that does not read its stdin closes it early
  child.stdin.end(p.stdin ?? '');

  let why: string | undefined;
  const kill = (reason: string) => {
    why ??= reason;
    const group = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    group('SIGTERM');
    setTimeout(() => group('SIGKILL'), KILL_GRACE_MS).unref();
  };
  const onAbort = () => kill('aborted');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const timer = p.timeoutMs === undefined ? undefined : setTimeout(() => kill('timed out'), p.timeoutMs);

  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, s) => resolve({ code: c, signal: s }));
    },
  ).finally(() => {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  });
  if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('aborted');
  const result = { exitCode: code, signal, stdout: out.text, stderr: err.text };
  if (code === 0) return result;
  const tail = err.text.trim().split('\n').slice(-3).join(' | ');
  const how = why ? `${why} (${signal ?? code})` : signal ? `killed by ${signal}` : `exited with ${code}`;
  throw new Error(`shell: ${p.command} ${how}${tail ? `: ${tail}` : ''}`);
};
