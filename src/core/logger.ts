/**
 * @module logger
 * The logging seam. Conveyor logs little (worker errors, rejected late completions);
 * pass your own logger (pino, console) to route it.
 */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

const print = (level: string) => (message: string, meta?: Record<string, unknown>) => {
  process.stderr.write(`[conveyor] ${level}: ${message}${meta ? ' ' + JSON.stringify(meta) : ''}\n`);
};

/** Warnings and errors to stderr; debug and info dropped. */
export const defaultLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: print('warn'),
  error: print('error'),
};

export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
