/**
 * @module redis-cache
 * The `Cache` on Redis (ioredis), shared by every process that points at the same server:
 * `resources: { cache: () => createRedisCache({ url: 'redis://127.0.0.1:6379' }) }`.
 * Values are JSON text, TTLs are `SET … PX`, keys carry an optional prefix so several apps
 * (or test runs) can share one Redis without seeing each other's entries.
 */
import { Redis, type Cluster } from 'ioredis';
import { ValidationError } from '../core/errors.js';
import { defaultLogger, type Logger } from '../core/logger.js';
import { BaseCache, type Cache } from './cache.js';

export interface RedisCacheOptions {
  /** `redis://[user:password@]host:port/db`; the cache opens (and closes) its own connection. Default redis://127.0.0.1:6379. */
  url?: string;
  /** An ioredis client (or cluster) of your own instead of `url`; `close()` leaves it open. */
  client?: Redis | Cluster;
  /** Put before every key, e.g. `'myapp:'`. Default none. */
  keyPrefix?: string;
  /** Where connection trouble of a cache-made connection is reported. Default: stderr. */
  logger?: Logger;
}

export interface RedisCache extends Cache {
  /** The connection the cache talks over, for the commands a cache does not offer. */
  readonly client: Redis | Cluster;
}

/**
 * How many times a command waits for a reconnect before it fails. ioredis's default (20)
 * keeps a handler waiting most of a minute while Redis is down; failing within about a
 * second lets the item's own retry and backoff take over instead.
 */
const MAX_RETRIES_PER_REQUEST = 3;

class IoRedisCache extends BaseCache implements RedisCache {
  constructor(
    readonly client: Redis | Cluster,
    private readonly prefix: string,
    private readonly owned: boolean,
  ) {
    super('redis cache');
  }

  protected async read(key: string): Promise<string | undefined> {
    return (await this.client.get(this.prefix + key)) ?? undefined;
  }

  protected async write(key: string, encoded: string, ttlMs: number | undefined): Promise<void> {
    if (ttlMs === undefined) await this.client.set(this.prefix + key, encoded);
    else await this.client.set(this.prefix + key, encoded, 'PX', ttlMs);
  }

  protected async remove(key: string): Promise<boolean> {
    return (await this.client.del(this.prefix + key)) > 0;
  }

  protected async release(): Promise<void> {
    // A client passed in belongs to its owner, who may still be using it elsewhere.
    if (!this.owned) return;
    // QUIT lets pending replies arrive first, but only a connected client can send it: one
    // still connecting or reconnecting would queue it until Redis came back.
    const status = this.client.status;
    if (status === 'end') return;
    // QUIT's reply comes before the socket closes: wait for 'end' too, so that when close()
    // resolves the connection is gone. Only a live socket emits it; a client between
    // reconnects has none, and disconnect() just cancels its next attempt (ioredis 5 then
    // keeps a harmless 2 s timer for the old socket: redis/ioredis#1247).
    const live = status === 'connecting' || status === 'connect' || status === 'ready';
    const ended = live ? new Promise((resolve) => this.client.once('end', resolve)) : undefined;
    let quit = false;
    if (status === 'ready') {
      quit = await this.client.quit().then(
        () => true,
        () => false, // the connection broke while quitting: drop it below
      );
    }
    if (!quit) this.client.disconnect();
    await ended;
  }
}

/** A cache on Redis: one connection (opened now, on first use of the resource) per cache. */
export function createRedisCache(options: RedisCacheOptions = {}): RedisCache {
  if (options.url !== undefined && options.client !== undefined) {
    throw new ValidationError([{ field: 'client', message: 'pass url or client, not both' }]);
  }
  const prefix = options.keyPrefix ?? '';
  if (typeof prefix !== 'string') {
    throw new ValidationError([{ field: 'keyPrefix', message: 'must be a string' }]);
  }
  if (options.client) return new IoRedisCache(options.client, prefix, false);
  const client = new Redis(options.url ?? 'redis://127.0.0.1:6379', {
    maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
  });
  // Every failed reconnect emits 'error', and a command that gives up says only that it ran
  // out of retries: report the first error of each outage, so the cause (ECONNREFUSED,
  // NOAUTH) is seen once instead of never or every 50 ms.
  const logger = options.logger ?? defaultLogger;
  let reported = false;
  client.on('ready', () => (reported = false));
  client.on('error', (e: Error) => {
    if (reported) return;
    reported = true;
    logger.warn(`redis cache: connection trouble: ${e.message}`);
  });
  return new IoRedisCache(client, prefix, true);
}
