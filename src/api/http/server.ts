/**
 * @module server
 * `startServer(options)`: the API of CONTRACT §6 on a port, over a Conveyor it opens (or
 * one it is given), with in-process workers for the handlers it is given and webhook
 * delivery. Without API keys it listens on loopback only, whatever host was asked for,
 * and says so: an open port with no keys would let anyone on the network run tasks.
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { createConveyor } from '../../client/create-conveyor.js';
import type { Conveyor } from '../../client/conveyor.js';
import type { Handler } from '../../worker/handler-context.js';
import type { Worker } from '../../worker/worker.js';
import { buildApp } from './app.js';
import { builtinHandlersFor } from './builtin-handlers.js';
import { configFromEnv, DEFAULT_CONFIG, webhookDeliveryOptions, type ServerConfig } from './config.js';

export interface ServerOptions {
  /** An open Conveyor to serve; otherwise one is opened on `database` and closed with the server. */
  conveyor?: Conveyor;
  /** Store URL or path (default: CONVEYOR_DATABASE_URL, else the embedded file). */
  database?: string;
  /** Settings over the defaults; the environment (CONVEYOR_*) is read over these. */
  config?: Partial<ServerConfig>;
  /** Where CONVEYOR_* settings are read from. Default process.env; `{}` reads none. */
  env?: NodeJS.ProcessEnv;
  /** Handlers for in-process workers, by task type (the built-ins noop and sleep are added). */
  handlers?: Record<string, Handler>;
  /** Concurrency of the in-process worker; 0 runs none (remote executors only). Default 4. */
  workers?: number;
  /** Register the built-in `shell` task type (default: config.shell, CONVEYOR_SHELL). */
  shell?: boolean;
  /** The built dashboard's folder; false serves none. Default: the package's dist/dashboard. */
  dashboardDir?: string | false;
  /** Fastify's logger option (pino). Default off. */
  logger?: FastifyServerOptions['logger'];
  /** Where the start line goes. Default console.log. */
  announce?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  app: FastifyInstance;
  conveyor: Conveyor;
  config: ServerConfig;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const config = configFromEnv(options.env ?? process.env, { ...DEFAULT_CONFIG, ...options.config });
  const keyless = config.apiKeys.size === 0;
  const host = keyless && !LOOPBACK.test(config.host) ? '127.0.0.1' : config.host;
  const own = options.conveyor === undefined;
  const cv =
    options.conveyor ?? (await createConveyor(options.database ? { database: options.database } : {}));
  const workers: Worker[] = [];
  try {
    const webhooks = await cv.deliverWebhooks(webhookDeliveryOptions(config));
    if (webhooks) workers.push(webhooks);
    const concurrency = options.workers ?? 4;
    if (concurrency > 0) {
      const builtins = builtinHandlersFor(config, options.shell);
      const worker = cv.worker({ handlers: { ...builtins, ...options.handlers }, concurrency });
      workers.push(worker);
      await worker.start();
    }
    const { app, dashboard } = await buildApp(cv, config, cv.defaultTenant, options.logger ?? false, {
      ...(options.dashboardDir !== undefined ? { dashboardDir: options.dashboardDir } : {}),
    });
    await app.listen({ host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const shown = host.includes(':') ? `[${host}]` : host;
    const url = `http://${shown}:${port}`;
    const note = keyless
      ? host === config.host
        ? ' (no API keys configured: one tenant, loopback only)'
        : ` (no API keys configured: listening on loopback only, not on ${config.host})`
      : ` (${new Set(config.apiKeys.values()).size} tenant(s) with API keys)`;
    const board = dashboard ? `; dashboard at ${url}/` : '';
    (options.announce ?? console.log)(`conveyor: API on ${url}${note}${board}`);
    let closing: Promise<void> | undefined;
    return {
      url,
      host,
      port,
      app,
      conveyor: cv,
      config,
      close: () =>
        (closing ??= (async () => {
          await app.close();
          await Promise.all(workers.map((w) => w.stop()));
          if (own) await cv.close();
        })()),
    };
  } catch (e) {
    await Promise.all(workers.map((w) => w.stop()));
    if (own) await cv.close();
    throw e;
  }
}
