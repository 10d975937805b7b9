/**
 * Worker child processes for the multi-process tests: spawn `worker-process.mjs` on a
 * shared SQLite file or PostgreSQL schema, wait for what it prints, read its executions log, and make sure no
 * child outlives its test (`killAllChildren` in afterEach), even when the test failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker-process.mjs', import.meta.url));
const DIST_ENTRY = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

export interface ChildConfig {
  /** The shared SQLite file, or a PostgreSQL URL (with `schema`). */
  db: string;
  schema?: string;
  /** PostgreSQL: `job` records each execution in this table of the schema. */
  recordTable?: string;
  /** The child's clock runs this many ms ahead (Date.now shifted). */
  skewMs?: number;
  pollIntervalMs?: number;
  /** Executor id of the child's worker. */
  id: string;
  /** The executions log the child's handlers append to. */
  log: string;
  concurrency?: number;
  leaseMs?: number;
  heartbeatIntervalMs?: number;
  reaperIntervalMs?: number;
  shutdownTimeoutMs?: number;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LogLine {
  kind: string;
  itemId: string;
  attempt: number;
  executorId: string;
  leaseToken: number;
  /** Whatever follows, e.g. `aborted=false`. */
  rest: string[];
}

export class ChildWorker {
  readonly proc: ChildProcess;
  readonly exited: Promise<ChildExit>;
  private out = '';
  private err = '';
  private exit: ChildExit | undefined;

  constructor(readonly config: ChildConfig) {
    this.proc = spawn(process.execPath, [WORKER_SCRIPT, JSON.stringify(config)], {
      // stdin stays open: the child exits when it closes, i.e. when this process dies.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stdout!.setEncoding('utf8').on('data', (s: string) => (this.out += s));
    this.proc.stderr!.setEncoding('utf8').on('data', (s: string) => (this.err += s));
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get id(): string {
    return this.config.id;
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  get hasExited(): boolean {
    return this.exit !== undefined || this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  /** Resolves once the child printed `text` on stdout; rejects if it exits first or after `timeoutMs`. */
  async waitForStdout(text: string, timeoutMs = 20_000): Promise<void> {
    await this.waitUntil(() => this.out.includes(text), `"${text}" on stdout`, timeoutMs);
  }

  /** Resolves once `cond()` holds; fails early (with the child's stderr) if the child exits. */
  async waitUntil(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.hasExited)
        throw new Error(
          `${this.id} exited (${JSON.stringify(this.exit)}) before ${what}\n${this.describe()}`,
        );
      if (Date.now() > end)
        throw new Error(`timed out waiting for ${what} from ${this.id}\n${this.describe()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The child's executions log, parsed (`<kind> <itemId> <attempt> <executorId> <leaseToken> …`). */
  logLines(): LogLine[] {
    if (!existsSync(this.config.log)) return [];
    return readFileSync(this.config.log, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => {
        const [kind, itemId, attempt, executorId, leaseToken, ...rest] = l.split(' ');
        return {
          kind: kind!,
          itemId: itemId!,
          attempt: Number(attempt),
          executorId: executorId!,
          leaseToken: Number(leaseToken),
          rest,
        };
      });
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.hasExited) this.proc.kill(sig);
  }

  /** SIGTERM, then waits for the clean exit (the child stops its worker and closes its Conveyor). */
  async stopGracefully(timeoutMs = 20_000): Promise<ChildExit> {
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`${this.id} did not exit within ${timeoutMs} ms of SIGTERM\n${this.describe()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL and wait for the exit (also works on a SIGSTOPped child). */
  async kill(): Promise<ChildExit> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** The child's exit, stdout, stderr and the end of its executions log, for failure messages. */
  describe(): string {
    const tail = (s: string) => (s.length > 4000 ? '…' + s.slice(-4000) : s);
    const log = existsSync(this.config.log) ? readFileSync(this.config.log, 'utf8') : '(none)';
    return [
      `--- ${this.id} (pid ${this.proc.pid}, exit ${JSON.stringify(this.exit ?? 'still running')}) stdout ---`,
      tail(this.out),
      `--- ${this.id} stderr ---`,
      tail(this.err),
      `--- ${this.id} executions log ${this.config.log} ---`,
      tail(log),
    ].join('\n');
  }
}

const children = new Set<ChildWorker>();

// Last resort if the test process exits without afterEach having run.
process.on('exit', () => {
  for (const c of children) c.signal('SIGKILL');
});

/** Starts a worker child; tracked until `killAllChildren`. */
export function spawnWorker(config: ChildConfig): ChildWorker {
  if (!existsSync(DIST_ENTRY)) throw new Error(`${DIST_ENTRY} is missing: run \`npm run build\` first`);
  const child = new ChildWorker(config);
  children.add(child);
  return child;
}

/** Every child spawned since the last `killAllChildren`. */
export function spawnedChildren(): ChildWorker[] {
  return [...children];
}

/** SIGKILLs every child still running and waits for them all to exit. */
export async function killAllChildren(): Promise<void> {
  const all = [...children];
  children.clear();
  await Promise.all(all.map((c) => c.kill()));
}
