/**
 * @module cli/output
 * How commands print: `--json` writes the API's JSON as it came (for scripts: stdout holds
 * that and nothing else); otherwise short lines and aligned tables for people.
 */
import type { logView, TaskView } from '../client/views.js';

export type LogLineView = ReturnType<typeof logView>;

export const out = (line = ''): void => void process.stdout.write(`${line}\n`);
export const err = (line: string): void => void process.stderr.write(`${line}\n`);

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** Rows under a header, each column as wide as its widest cell. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** A JSON value on one line, cut short: for results and payloads in human output. */
export function brief(value: unknown, max = 200): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function printTask(t: TaskView): void {
  const fields: Array<[string, string | number | null]> = [
    ['id', t.id],
    ['type', t.type],
    ['name', t.name],
    ['status', t.status],
    ['priority', t.priority],
    ['queue', t.queue],
    ['attempts', t.attempts],
    ['progress', t.progress_message ? `${t.progress}% ${t.progress_message}` : `${t.progress}%`],
    ['workflow', t.workflow_id && `${t.workflow_id} (step ${t.step_id ?? '?'})`],
    ['retry of', t.retry_of],
    ['executor', t.executor_id],
    ['created', t.created_at],
    ['started', t.started_at],
    ['finished', t.finished_at],
    ['payload', brief(t.payload)],
    ['result', t.result === null ? null : brief(t.result)],
    ['error', t.error && `${t.error.code}: ${t.error.message}`],
  ];
  for (const [name, value] of fields)
    if (value !== null && value !== '') out(`${`${name}:`.padEnd(10)} ${value}`);
}

export function printTaskList(tasks: TaskView[], nextCursor: string | null): void {
  if (tasks.length === 0) {
    out('no tasks');
    return;
  }
  const rows = tasks.map((t) => [t.id, t.type, t.status, t.queue, String(t.priority), String(t.created_at)]);
  for (const line of table(['ID', 'TYPE', 'STATUS', 'QUEUE', 'PRIORITY', 'CREATED'], rows)) out(line);
  if (nextCursor !== null) out(`more: --cursor ${nextCursor}`);
}

export const formatLogLine = (l: LogLineView): string => `${l.at} [attempt ${l.attempt}] ${l.message}`;
