/**
 * @module cli/errors
 * What a command can fail with, and the exit code each one means (docs/cli.md): 0 ok,
 * 1 failure (an API error, work that failed, a broken receipt chain, a server that cannot
 * be reached), 2 usage (a bad flag, a file that cannot be read or is not JSON). Every
 * failure reaches the user as one or a few lines on stderr, never as a stack trace.
 */
import { CommanderError } from 'commander';
import { ConveyorError, type ValidationIssue } from '../core/errors.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A mistake in how the command was called: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An error body of the HTTP API (`{ error: { code, message, details? } }`). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** No server answered at the URL (refused, unknown host, timed out). */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

/** Work that ran and failed (a task, a workflow, a receipt chain): its report is already printed. */
export class FailedError extends Error {
  override readonly name = 'FailedError';
}

/** `CODE: message`, then the fields a VALIDATION error names beyond its first. */
function apiErrorLines(
  code: string,
  message: string,
  details: Record<string, unknown> | undefined,
): string[] {
  const lines = [`${code}: ${message}`];
  const issues = Array.isArray(details?.issues) ? (details.issues as ValidationIssue[]) : [];
  for (const issue of issues.slice(1)) lines.push(`  ${issue.field}: ${issue.message}`);
  if (issues.length === 0 && typeof details?.field === 'string' && !message.includes(details.field))
    lines.push(`  field: ${details.field}`);
  return lines;
}

/** Prints `e` for a person and returns the exit code it stands for. */
export function reportError(e: unknown, write: (line: string) => void): number {
  if (e instanceof CommanderError) {
    // Commander has printed its message already. Help asked for (--help, `help task`) and
    // --version exit 0; anything else it stops on (help shown for a bad call too) is usage.
    return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (e instanceof UsageError) {
    write(`conveyor: ${e.message}`);
    return EXIT.usage;
  }
  if (e instanceof FailedError) {
    if (e.message) write(e.message);
    return EXIT.failure;
  }
  if (e instanceof ApiError) {
    for (const line of apiErrorLines(e.code, e.message, e.details)) write(line);
    return EXIT.failure;
  }
  if (e instanceof ConveyorError) {
    // Raised in this process (start, worker, migrate): a bad setting or an unreachable store.
    for (const line of apiErrorLines(e.code, e.message, e.details)) write(`conveyor: ${line}`);
    return EXIT.failure;
  }
  write(`conveyor: ${e instanceof Error ? e.message : String(e)}`);
  return EXIT.failure;
}
