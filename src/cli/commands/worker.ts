/**
 * @module cli/commands/worker
 * `conveyor worker`: workers only, no API, against the store of `--database`; what runs is
 * in ../run-worker.ts, loaded when the command runs.
 */
import type { Command } from 'commander';
import { runUntilSignal } from '../lifecycle.js';
import { example, intArg, listArg } from '../options.js';
import { databaseOption, handlerOptions, type WorkerFlags } from './serve-options.js';

async function worker(flags: WorkerFlags): Promise<void> {
  const { startWorker } = await import('../run-worker.js');
  await runUntilSignal(() => startWorker(flags, console.log));
}

export function registerWorkerCommand(program: Command): void {
  const command = program
    .command('worker')
    .description('run workers only (no API) against the store of --database')
    .addOption(databaseOption())
    .option('--concurrency <n>', 'tasks run at once (default CONVEYOR_WORKERS, else 4)', intArg(1, 10_000))
    .option('--types <list>', 'only these task types, comma-separated (default: every handler)', listArg)
    .option('--queue <list>', 'only these queues, comma-separated (default: all)', listArg)
    .option('--id <id>', 'the executor id (default worker-<host>-<pid>-<n>)');
  handlerOptions(command).action(worker);
  example(command, 'conveyor worker --database postgres://postgres@127.0.0.1:5432/conveyor --concurrency 8');
}
