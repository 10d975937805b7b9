/**
 * @module cli/commands/start
 * `conveyor start` (API + in-process workers + dashboard, on the embedded store unless told
 * otherwise), `conveyor server` (the API alone, for remote executors and separate worker
 * processes) and `conveyor mcp` (the MCP tools over stdio). Flags override the CONVEYOR_*
 * variables; what runs is in ../run-server.ts, loaded when one of these commands runs.
 */
import { Option, type Command } from 'commander';
import { example, intArg } from '../options.js';
import { databaseOption, handlerOptions, MODES, serveOptions, type ServeFlags } from './serve-options.js';

const runStart = async (flags: ServeFlags, mode?: 'api') =>
  (await import('../run-server.js')).runStart(flags, mode);

export function registerStartCommands(program: Command): void {
  const start = serveOptions(
    program
      .command('start')
      .description('run the API, in-process workers and the dashboard (default: ./conveyor.db)')
      .addOption(new Option('--mode <mode>', 'what to run (CONVEYOR_MODE; default all)').choices([...MODES])),
    'in-process workers, 0 for none (CONVEYOR_WORKERS; default 4)',
  ).action((flags: ServeFlags) => runStart(flags));
  example(start, 'conveyor start --port 8080 --database ./conveyor.db --workers 8');

  const server = serveOptions(
    program.command('server').description('run the API only; tasks are run by workers elsewhere'),
    'also run this many in-process workers (default none)',
  ).action((flags: ServeFlags) => runStart(flags, 'api'));
  example(server, 'conveyor server --database postgres://postgres@127.0.0.1:5432/conveyor --port 3000');

  const mcp = handlerOptions(
    program
      .command('mcp')
      .description('serve the MCP tools over stdio (for an agent that starts Conveyor)')
      .addOption(databaseOption())
      .option(
        '--workers <n>',
        'in-process workers, 0 for none (CONVEYOR_WORKERS; default 4)',
        intArg(0, 10_000),
      ),
  ).action((flags: ServeFlags) => runStart({ ...flags, mode: 'mcp' }));
  example(mcp, 'conveyor mcp --database ./conveyor.db');
}
