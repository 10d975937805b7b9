#!/usr/bin/env node
/**
 * @module cli/main
 * The `conveyor` command (CONTRACT §8, docs/cli.md). Thin on purpose: each command lives
 * in commands/*.ts; this file wires them and turns every failure into its exit code
 * (0 ok, 1 failure, 2 usage) and a line on stderr.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerReceiptsCommand } from './commands/receipts.js';
import { registerRunCommand } from './commands/run.js';
import { registerStartCommands } from './commands/start.js';
import { registerTaskCommands } from './commands/task.js';
import { registerWorkerCommand } from './commands/worker.js';
import { reportError } from './errors.js';
import { isServing } from './lifecycle.js';
import { err } from './output.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function createProgram(): Command {
  const program = new Command('conveyor')
    .description('Conveyor: a durable task queue and workflow engine')
    .version(pkg.version)
    .showHelpAfterError('(add --help for usage)')
    // Commander exits 1 on a usage error; we throw instead and exit 2 (see reportError).
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ conveyor start                                   API + workers + dashboard on ./conveyor.db
  $ conveyor task add noop --payload '{"hi":1}' --wait
  $ conveyor run examples/demo-workflow.json --watch

Client commands talk to --url (CONVEYOR_URL, default http://127.0.0.1:3000) with
--api-key (CONVEYOR_API_KEY). Exit codes: 0 ok, 1 failure, 2 usage error.`,
    );
  // exitOverride is set before the commands are added: each copies its parent's settings.
  registerStartCommands(program);
  registerWorkerCommand(program);
  registerMigrateCommand(program);
  registerTaskCommands(program);
  registerRunCommand(program);
  registerReceiptsCommand(program);
  return program;
}

/** Exits once stdout has been written out: a pipe reader must get every line. */
function exit(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

// `conveyor task list | head -1`: a reader that stops early is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

createProgram()
  .parseAsync(process.argv)
  .then(
    // Client commands are done here (exit now: idle keep-alive sockets would hold the
    // process a few seconds); start, server and worker run on and exit from their signals.
    () => {
      if (!isServing()) exit(0);
    },
    (e: unknown) => exit(reportError(e, err)),
  );
