/**
 * @module cache
 * A small key–value cache for handlers, declared as a resource
 * (`resources: { cache: () => createMemoryCache() }`) and reached with
 * `ctx.resources.get<Cache>('cache')`. Two backends behind one interface: memory (one
 * process, LRU-bounded) here, and Redis (shared by every process) in redis-cache.ts.
 *
 * Values are stored JSON-encoded in both, so a handler sees the same thing from either:
 * a fresh copy on every read, Dates as strings, `undefined` fields dropped. A handler that
 * works against the memory cache in tests then works against Redis in production.
 */
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { ClosedError, ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';
import { jsonProblem } from '../engine/validation.js';

export interface CacheSetOptions {
  /** Time to live; the entry is gone after it. Default: no expiry (memory: until evicted). */
  ttlMs?: number;
}

export interface Cache {
  /** The value stored under `key`, or `undefined` when there is none or it expired. */
  get<T = JsonValue>(key: string): Promise<T | undefined>;
  /** Stores `value` (JSON) under `key`, replacing what was there. */
  set(key: string, value: JsonValue, options?: CacheSetOptions): Promise<void>;
  /** Removes `key`; true when there was a live entry to remove. */
  delete(key: string): Promise<boolean>;
  /**
   * Cache-aside: the cached value of `key`, or else `load()`'s, stored for `ttlMs` and
   * returned. Concurrent callers in this process share one `load()` per key; a `load()`
   * that throws caches nothing and rejects every caller waiting on it. Processes do not
   * coordinate: two processes that miss at once both load.
   */
  getOrSet<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T>;
  /** Releases the cache (its connection, for Redis); any call after it throws CLOSED. */
  close(): Promise<void>;
}

export interface MemoryCacheOptions {
  /** The most entries kept; the least recently used is evicted past it. Default 10000. */
  maxEntries?: number;
  /** Where "now" comes from, for TTLs; tests pass `createManualClock()`. */
  clock?: Clock;
}

/** The JSON text stored for `value`; refuses what JSON cannot carry rather than mangling it. */
export function encodeCacheValue(key: string, value: unknown): string {
  const problem = value === undefined ? 'must not be undefined (store null instead)' : jsonProblem(value);
  if (problem) throw new ValidationError([{ field: `value (key ${JSON.stringify(key)})`, message: problem }]);
  return JSON.stringify(value);
}

/** `ttlMs` checked and rounded up to whole milliseconds (Redis PX takes integers only). */
export function cacheTtl(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new ValidationError([{ field: 'ttlMs', message: 'must be a finite number > 0' }]);
  }
  return Math.ceil(ttlMs);
}

/**
 * What both backends share: key checks, the closed state and cache-aside with one load per
 * key at a time. A backend supplies the three primitives on encoded values.
 */
export abstract class BaseCache implements Cache {
  private readonly loads = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(private readonly what: string) {}

  protected abstract read(key: string): Promise<string | undefined>;
  protected abstract write(key: string, encoded: string, ttlMs: number | undefined): Promise<void>;
  protected abstract remove(key: string): Promise<boolean>;
  protected abstract release(): Promise<void>;

  async get<T = JsonValue>(key: string): Promise<T | undefined> {
    const encoded = await this.read(this.check(key));
    return encoded === undefined ? undefined : (JSON.parse(encoded) as T);
  }

  async set(key: string, value: JsonValue, options: CacheSetOptions = {}): Promise<void> {
    this.check(key);
    await this.write(key, encodeCacheValue(key, value), cacheTtl(options.ttlMs));
  }

  async delete(key: string): Promise<boolean> {
    return this.remove(this.check(key));
  }

  async getOrSet<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    this.check(key);
    const ttl = cacheTtl(ttlMs);
    const pending = this.loads.get(key);
    if (pending) return pending as Promise<T>;
    const loading = (async () => {
      const hit = await this.read(key);
      if (hit !== undefined) return JSON.parse(hit) as T;
      const encoded = encodeCacheValue(key, await load());
      await this.write(key, encoded, ttl);
      // The decoded copy, not load()'s own object: a first call then sees what later hits see.
      return JSON.parse(encoded) as T;
    })();
    // Joining starts before the read, so callers arriving while the read is in flight share it too.
    this.loads.set(key, loading);
    const forget = () => {
      if (this.loads.get(key) === loading) this.loads.delete(key);
    };
    loading.then(forget, forget);
    return await loading;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.release();
  }

  private check(key: string): string {
    if (this.closed) throw new ClosedError(this.what);
    if (typeof key !== 'string' || key.length === 0) {
      throw new ValidationError([{ field: 'key', message: 'must be a non-empty string' }]);
    }
    return key;
  }
}

interface MemoryEntry {
  encoded: string;
  /** Epoch ms after which the entry is gone; Infinity for none. */
  expiresAt: number;
}

/**
 * One process's cache: a Map in recency order (a hit moves its key to the end, so the
 * first key is the least recently used). Expired entries are dropped when read or when
 * eviction reaches them; no timer runs, so an idle cache keeps no process alive.
 */
class MemoryCache extends BaseCache {
  private readonly entries = new Map<string, MemoryEntry>();

  constructor(
    private readonly maxEntries: number,
    private readonly clock: Clock,
  ) {
    super('memory cache');
  }

  protected read(key: string): Promise<string | undefined> {
    const entry = this.live(key);
    if (!entry) return Promise.resolve(undefined);
    this.entries.delete(key);
    this.entries.set(key, entry);
    return Promise.resolve(entry.encoded);
  }

  protected write(key: string, encoded: string, ttlMs: number | undefined): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, { encoded, expiresAt: ttlMs === undefined ? Infinity : this.clock.now() + ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return Promise.resolve();
  }

  protected remove(key: string): Promise<boolean> {
    const existed = this.live(key) !== undefined;
    this.entries.delete(key);
    return Promise.resolve(existed);
  }

  protected release(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }

  private live(key: string): MemoryEntry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

/** An in-process cache: for one process, tests, or data each process may hold its own copy of. */
export function createMemoryCache(options: MemoryCacheOptions = {}): Cache {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new ValidationError([{ field: 'maxEntries', message: 'must be an integer ≥ 1' }]);
  }
  return new MemoryCache(maxEntries, options.clock ?? systemClock);
}
