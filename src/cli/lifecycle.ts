/**
 * @module cli/lifecycle
 * How the long-running commands (start, server, worker) live and die: SIGINT or SIGTERM
 * drains the workers and closes the store, then the process exits 0 (1 if closing failed).
 * Signals are handled from the first moment: one that arrives while the process is still
 * starting closes it once it is up, instead of killing it half way through a migration or
 * a claim.
 */
import { ConveyorError } from '../core/errors.js';
import { FailedError, UsageError } from './errors.js';

let serving = false;

/** Whether this process is a long-running one (a server, a worker) that must not exit when its command returns. */
export const isServing = (): boolean => serving;

/** Marks the process long-running: it exits from its signal handlers, not when the command returns. */
export function markServing(): void {
  serving = true;
}

export interface Running {
  /** Drains and closes; called once. */
  close(): Promise<void>;
}

/** `conveyor: cannot start: CODE: message`, the one line a failed start leaves. */
export function cannotStart(e: unknown): FailedError | UsageError {
  if (e instanceof FailedError || e instanceof UsageError) return e;
  const message =
    e instanceof ConveyorError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  return new FailedError(`conveyor: cannot start: ${message}`);
}

/**
 * Runs `start` and keeps the result until a signal. Resolves once started (the process
 * then stays up on the server's sockets and the workers' timers); rejects with the
 * "cannot start" error when the start fails.
 */
export async function runUntilSignal(
  start: () => Promise<Running>,
  log: (line: string) => void = (line) => console.log(line),
): Promise<void> {
  markServing();
  let stopping = false;
  let started: Promise<Running | undefined> = Promise.resolve(undefined);
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`conveyor: ${signal}: draining workers and closing`);
    started
      .then((running) => running?.close())
      .then(
        () => process.exit(0),
        (e: unknown) => {
          process.stderr.write(`conveyor: closing failed: ${e instanceof Error ? e.message : String(e)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const starting = start();
  // A start that fails after a signal has nothing to close: the signal's exit stands.
  started = starting.catch(() => undefined);
  try {
    await starting;
  } catch (e) {
    if (!stopping) throw cannotStart(e);
  }
}
