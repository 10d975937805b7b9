/**
 * @module cli/commands/run
 * `conveyor run <workflow.json> [--watch] [--input <json>]`: the one-shot form of
 * `POST /api/workflows` (a definition with its steps, started at once), and with
 * `--watch` a progress bar per step until the run ends: exit 0 when it completes, 1 when
 * it fails or is cancelled, with the failed steps and their errors.
 */
import type { Command } from 'commander';
import { UsageError, FailedError } from '../errors.js';
import { clientOf, example, jsonArg, readJsonFile, withClientFlags, type ClientFlags } from '../options.js';
import { out, printJson } from '../output.js';
import { createBoard } from '../progress.js';
import { watchWorkflow, type WorkflowView } from '../watch.js';

interface RunFlags extends ClientFlags {
  watch?: boolean;
  input?: unknown;
}

/** What went wrong in a run that did not complete, one line per step. */
function failureReport(run: WorkflowView): string {
  const lines = [`workflow ${run.name} (${run.id}) ${run.status}`];
  for (const step of run.tasks) {
    if (step.status !== 'failed' && step.status !== 'cancelled') continue;
    const why = step.error ? `${step.error.code}: ${step.error.message}` : (run.errors[step.id] ?? '');
    lines.push(`  step ${step.id} ${step.status}${why ? `: ${why}` : ''}`);
  }
  const skipped = run.tasks.filter((s) => s.status === 'skipped').map((s) => s.id);
  if (skipped.length > 0) lines.push(`  skipped: ${skipped.join(', ')}`);
  if (run.error && lines.length === 1) lines.push(`  ${run.error.code}: ${run.error.message}`);
  return lines.join('\n');
}

async function run(file: string, o: RunFlags): Promise<void> {
  const definition = readJsonFile(file, 'workflow file');
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition))
    throw new UsageError(`workflow file ${file} must hold a JSON object (a workflow definition)`);
  const body: Record<string, unknown> = { ...(definition as Record<string, unknown>), start: true };
  if (o.input !== undefined) body.input = o.input;
  const client = clientOf(o);
  const started = await client.post<WorkflowView>('/api/workflows', body);
  if (!o.watch) {
    if (o.json) printJson(started);
    else out(`workflow ${started.name} ${started.id} ${started.status} (${started.tasks.length} steps)`);
    return;
  }
  const board = createBoard(o.json ? process.stderr : process.stdout);
  if (!o.json) out(`workflow ${started.name} ${started.id}`);
  const final = await watchWorkflow(client, started, board);
  if (o.json) printJson(final);
  if (final.status !== 'completed') throw new FailedError(failureReport(final));
  if (!o.json) out(`workflow ${final.name} ${final.id} completed`);
}

export function registerRunCommand(program: Command): void {
  const command = withClientFlags(
    program.command('run <workflow.json>').description('start a workflow from a JSON definition'),
  )
    .option('--watch', 'show a progress bar per step until it ends; exit 1 unless it completes')
    .option('--input <json>', "the run's input, over the file's", jsonArg)
    .action(run);
  example(command, 'conveyor run examples/demo-workflow.json --watch');
}
