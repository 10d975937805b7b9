/**
 * @module cli/run-worker
 * What `conveyor worker` runs: a worker with no API, on the store of `--database`
 * (PostgreSQL for many machines; a SQLite file works for processes on one machine). It
 * runs the built-in handlers and those of CONVEYOR_HANDLERS, and delivers the webhooks of
 * the tasks it finishes, since deliveries are scheduled by the process that finishes them.
 */
import { createConveyor } from '../client/create-conveyor.js';
import { builtinHandlersFor } from '../api/http/builtin-handlers.js';
import { configFromEnv, webhookDeliveryOptions } from '../api/http/config.js';
import { loadHandlers } from '../api/handlers-module.js';
import type { Handler } from '../worker/handler-context.js';
import { workersFromEnv, type HandlerFlags, type WorkerFlags } from './commands/serve-options.js';
import { UsageError } from './errors.js';
import type { Running } from './lifecycle.js';

/** Built-ins (with the server's outbound policy for `http`), then the module's, then --types. */
export async function workerHandlers(flags: HandlerFlags & { types?: string[] }) {
  const config = configFromEnv(process.env);
  const all: Record<string, Handler> = {
    ...builtinHandlersFor(config, flags.enableShell),
    ...(await loadHandlers(flags.handlers ?? process.env.CONVEYOR_HANDLERS)),
  };
  if (flags.types === undefined) return { config, handlers: all };
  const unknown = flags.types.filter((t) => all[t] === undefined);
  if (unknown.length > 0)
    throw new UsageError(
      `--types: no handler for ${unknown.join(', ')} (known: ${Object.keys(all).join(', ')})`,
    );
  return { config, handlers: Object.fromEntries(flags.types.map((t) => [t, all[t]!])) };
}

/** Opens the store and starts the worker; the returned close drains it. */
export async function startWorker(flags: WorkerFlags, log: (line: string) => void): Promise<Running> {
  const { config, handlers } = await workerHandlers(flags);
  const concurrency = flags.concurrency ?? workersFromEnv() ?? 4;
  if (concurrency < 1) throw new UsageError('a worker needs a concurrency of 1 or more');
  const cv = await createConveyor(flags.database ? { database: flags.database } : {});
  try {
    const webhooks = await cv.deliverWebhooks(webhookDeliveryOptions(config));
    const worker = cv.worker({
      handlers,
      concurrency,
      ...(flags.queue ? { queues: flags.queue } : {}),
      ...(flags.id ? { id: flags.id } : {}),
    });
    await worker.start();
    const queues = flags.queue ? ` from queue(s) ${flags.queue.join(', ')}` : '';
    log(
      `conveyor: worker ${worker.id} on ${cv.backend} running ${Object.keys(handlers).join(', ')}` +
        `${queues} (concurrency ${concurrency})`,
    );
    return {
      close: async () => {
        await worker.stop();
        await webhooks?.stop();
        await cv.close();
      },
    };
  } catch (e) {
    await cv.close();
    throw e;
  }
}
