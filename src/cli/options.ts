/**
 * @module cli/options
 * Flags shared by several commands and the parsers behind them. A parser throws
 * commander's InvalidArgumentError, so a bad value is a usage error (exit 2) that names
 * the flag, before any command runs.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ApiClient, DEFAULT_URL } from './api-client.js';
import { UsageError } from './errors.js';

/** A whole number from `min` to `max`. */
export const intArg =
  (min: number, max: number) =>
  (text: string): number => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };

/** Any JSON value. */
export function jsonArg(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InvalidArgumentError(`is not valid JSON (${(e as Error).message})`);
  }
}

/** `a,b , c` → ['a','b','c']. */
export const listArg = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** A JSON file's content: unreadable or not JSON is a usage error naming the file. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(`cannot read ${what} ${path}${code ? ` (${code})` : ''}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export interface ClientFlags {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

/** `--url`, `--api-key` and `--json`, the flags of every command that talks to a server. */
export function withClientFlags(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'the Conveyor server').env('CONVEYOR_URL').default(DEFAULT_URL))
    .addOption(new Option('--api-key <key>', 'API key, sent as Bearer token').env('CONVEYOR_API_KEY'))
    .option('--json', 'print JSON (the API’s own fields) for scripts');
}

export const clientOf = (flags: ClientFlags): ApiClient =>
  new ApiClient({ url: flags.url, apiKey: flags.apiKey });

/** "Example:" under a command's help. */
export function example(command: Command, ...lines: string[]): Command {
  return command.addHelpText('after', `\nExample:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}
