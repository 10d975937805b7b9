/**
 * @module cli/commands/task
 * `conveyor task add|get|list|cancel|retry|logs`: the task routes of the HTTP API
 * (CONTRACT §6) from a shell. `add --wait` follows the task to its end with a progress bar
 * and exits 1 when it fails; `logs --follow` keeps printing until the task finishes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { TaskView } from '../../client/views.js';
import { query, segment, type ApiClient } from '../api-client.js';
import { FailedError } from '../errors.js';
import { clientOf, example, intArg, jsonArg, listArg, readJsonFile, withClientFlags } from '../options.js';
import type { ClientFlags } from '../options.js';
import { formatLogLine, out, printJson, printTask, printTaskList, type LogLineView } from '../output.js';
import { createBoard, isFinished } from '../progress.js';
import { watchTask } from '../watch.js';

interface AddFlags extends ClientFlags {
  payload?: unknown;
  payloadFile?: string;
  priority?: number | string;
  queue?: string;
  name?: string;
  idempotencyKey?: string;
  maxRetries?: number;
  timeout?: number;
  delay?: number;
  wait?: boolean;
}

const PRIORITY_NAMES = ['low', 'normal', 'high', 'critical'];

function priorityArg(text: string): number | string {
  if (PRIORITY_NAMES.includes(text)) return text;
  return intArg(-1_000_000, 1_000_000)(text);
}

const positive = (text: string): number => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('must be a number of seconds, 0 or more');
  return n;
};

async function add(type: string, o: AddFlags): Promise<void> {
  const client = clientOf(o);
  const payload = o.payloadFile !== undefined ? readJsonFile(o.payloadFile, 'payload file') : o.payload;
  const body: Record<string, unknown> = { type };
  if (payload !== undefined) body.payload = payload;
  if (o.priority !== undefined) body.priority = o.priority;
  if (o.queue !== undefined) body.queue = o.queue;
  if (o.name !== undefined) body.name = o.name;
  if (o.idempotencyKey !== undefined) body.idempotency_key = o.idempotencyKey;
  if (o.maxRetries !== undefined) body.max_retries = o.maxRetries;
  if (o.timeout !== undefined) body.timeout_seconds = o.timeout;
  if (o.delay !== undefined) body.delay_seconds = o.delay;
  const task = await client.post<TaskView>('/api/tasks', body);
  if (!o.wait) {
    if (o.json) printJson(task);
    else out(`task ${task.id} ${task.status}`);
    return;
  }
  // With --json, stdout carries the final task only; the live view goes to stderr.
  const final = await watchTask(client, task, createBoard(o.json ? process.stderr : process.stdout));
  if (o.json) printJson(final);
  else if (final.status === 'completed') out(`task ${final.id} completed: ${JSON.stringify(final.result)}`);
  if (final.status !== 'completed') {
    const why = final.error ? `: ${final.error.code}: ${final.error.message}` : '';
    throw new FailedError(`task ${final.id} ${final.status}${why}`);
  }
}

interface ListFlags extends ClientFlags {
  status?: string[];
  type?: string;
  queue?: string;
  workflow?: string;
  limit?: number;
  cursor?: string;
}

async function list(o: ListFlags): Promise<void> {
  const page = await clientOf(o).get<{ tasks: TaskView[]; next_cursor: string | null }>(
    `/api/tasks${query({
      status: o.status?.join(','),
      type: o.type,
      queue: o.queue,
      workflow_id: o.workflow,
      limit: o.limit,
      cursor: o.cursor,
    })}`,
  );
  if (o.json) printJson(page);
  else printTaskList(page.tasks, page.next_cursor);
}

/** Prints the lines after `printed`; returns how many have been printed in all. */
async function printNewLogs(client: ApiClient, id: string, printed: number, json: boolean): Promise<number> {
  const { logs } = await client.get<{ logs: LogLineView[] }>(`/api/tasks/${segment(id)}/logs`);
  for (const line of logs.slice(printed)) out(json ? JSON.stringify(line) : formatLogLine(line));
  return Math.max(printed, logs.length);
}

async function logs(id: string, o: ClientFlags & { follow?: boolean; interval: number }): Promise<void> {
  const client = clientOf(o);
  if (!o.follow) {
    const answer = await client.get<{ logs: LogLineView[] }>(`/api/tasks/${segment(id)}/logs`);
    if (o.json) printJson(answer);
    else for (const line of answer.logs) out(formatLogLine(line));
    return;
  }
  // Log lines make no events, so --follow polls; the status is read before the lines, so
  // the lines a task wrote just before it finished are printed before we stop.
  let printed = 0;
  for (;;) {
    const task = await client.get<TaskView>(`/api/tasks/${segment(id)}`);
    printed = await printNewLogs(client, id, printed, o.json === true);
    if (isFinished(task.status)) return;
    await sleep(o.interval);
  }
}

const one =
  (method: 'GET' | 'DELETE' | 'POST', suffix: string, say: (t: TaskView, id: string) => string) =>
  async (id: string, o: ClientFlags): Promise<void> => {
    const task = await clientOf(o).request<TaskView>(method, `/api/tasks/${segment(id)}${suffix}`);
    if (o.json) printJson(task);
    else if (method === 'GET') printTask(task);
    else out(say(task, id));
  };

export function registerTaskCommands(program: Command): void {
  const task = program.command('task').description('create, inspect, cancel and retry tasks on a server');
  const addCommand = withClientFlags(task.command('add <type>').description('create a task'))
    .addOption(
      new Option('--payload <json>', 'the payload, as JSON').argParser(jsonArg).conflicts('payloadFile'),
    )
    .option('--payload-file <file>', 'read the payload from a JSON file')
    .option('--priority <priority>', 'an integer or low|normal|high|critical', priorityArg)
    .option('--queue <name>', 'the queue')
    .option('--name <name>', 'a name for people')
    .option('--idempotency-key <key>', 'the same key again returns the first task')
    .option('--max-retries <n>', 'retries after a failed attempt (default 3)', intArg(0, 1000))
    .option('--timeout <seconds>', 'longest one attempt may run', positive)
    .option('--delay <seconds>', 'not run before this many seconds', positive)
    .option('--wait', 'follow it to its end with a progress bar; exit 1 unless it completes')
    .action(add);
  example(addCommand, `conveyor task add sleep --payload '{"ms":500}' --wait`);

  const getCommand = withClientFlags(task.command('get <id>').description('show a task')).action(
    one('GET', '', () => ''),
  );
  example(getCommand, 'conveyor task get 0198c0de-… --json');

  const listCommand = withClientFlags(task.command('list').description('list tasks, newest first'))
    .option('--status <list>', 'comma-separated statuses, e.g. queued,running', listArg)
    .option('--type <type>', 'only this task type')
    .option('--queue <name>', 'only this queue')
    .option('--workflow <id>', "only this workflow's tasks")
    .option('--limit <n>', 'at most this many (default 100)', intArg(1, 1000))
    .option('--cursor <cursor>', 'the next page, from a previous list')
    .action(list);
  example(listCommand, 'conveyor task list --status failed,cancelled --limit 20');

  const cancelCommand = withClientFlags(task.command('cancel <id>').description('cancel a task')).action(
    one('DELETE', '', (t) => `task ${t.id} ${t.status}`),
  );
  example(cancelCommand, 'conveyor task cancel 0198c0de-…');

  const retryCommand = withClientFlags(
    task.command('retry <id>').description('run a failed or cancelled task again, as a new task'),
  ).action(one('POST', '/retry', (t, id) => `task ${id} retried as ${t.id} (${t.status})`));
  example(retryCommand, 'conveyor task retry 0198c0de-…');

  const logsCommand = withClientFlags(task.command('logs <id>').description("print a task's log lines"))
    .option('--follow', 'keep printing new lines until the task finishes')
    .option('--interval <ms>', 'how often --follow asks', intArg(50, 60_000), 500)
    .action(logs);
  example(logsCommand, 'conveyor task logs 0198c0de-… --follow');
}
