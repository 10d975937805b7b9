/**
 * @module create-conveyor
 * `createConveyor(options)`: opens (and migrates) the store and returns the facade.
 * With no options it uses the embedded file `./conveyor.db`, or CONVEYOR_DATABASE_URL.
 */
import { z } from 'zod';
import { systemClock, type Clock } from '../core/clock.js';
import { defaultLogger, type Logger } from '../core/logger.js';
import { Engine } from '../engine/engine.js';
import { nameSchema, parseInput } from '../engine/validation.js';
import { ResourceRegistry, type ResourceFactory } from '../resources/registry.js';
import { createStore, DEFAULT_DATABASE } from '../store/create-store.js';
import { Conveyor } from './conveyor.js';

export interface ConveyorOptions {
  /**
   * File path, `sqlite:<path>`, `:memory:` or a `postgres://` URL (CONTRACT §1).
   * Default: CONVEYOR_DATABASE_URL or ./conveyor.db.
   */
  database?: string;
  /** PostgreSQL: the schema for Conveyor's tables, so several apps can share a database. Default 'conveyor'. */
  schema?: string;
  /** PostgreSQL: connections per process for queries (one more listens for wake-ups). Default 10. */
  poolSize?: number;
  /** Tenant of items enqueued without one. Default 'default'. */
  tenant?: string;
  logger?: Logger;
  /** Lease of a claimed or assigned item, renewed by heartbeats. Default 30000. */
  leaseMs?: number;
  /** SQLite durability: 'normal' (default, WAL + synchronous=NORMAL) or 'full' (fsync each commit). */
  durability?: 'normal' | 'full';
  /**
   * Where "now" comes from; tests pass `createManualClock()`. On PostgreSQL, transactions
   * use the database server's clock unless this is set (then this replaces it: tests only).
   */
  clock?: Clock;
  /** Random source for backoff jitter (0 ≤ r < 1). */
  random?: () => number;
  /** Shared resources for handlers (`ctx.resources.get(name)`), created on first use. */
  resources?: Record<string, ResourceFactory>;
  /** How often to notice other processes' writes while waiting. Default 50 ms. */
  changePollMs?: number;
}

const optionsSchema = z.strictObject({
  database: z.string().min(1).optional(),
  schema: z.string().optional(),
  poolSize: z.number().int().min(1).max(1000).optional(),
  tenant: nameSchema.optional(),
  logger: z.custom<Logger>((v) => !!v && typeof v === 'object', 'must be a logger object').optional(),
  leaseMs: z
    .number()
    .int()
    .min(10)
    .max(24 * 3600 * 1000)
    .optional(),
  durability: z.enum(['normal', 'full']).optional(),
  clock: z.custom<Clock>((v) => !!v && typeof (v as Clock).now === 'function', 'must have now()').optional(),
  random: z.custom<() => number>((v) => typeof v === 'function', 'must be a function').optional(),
  resources: z
    .record(
      z.string(),
      z.custom<ResourceFactory>((v) => typeof v === 'function', 'must be a factory function'),
    )
    .optional(),
  changePollMs: z.number().int().min(1).max(60_000).optional(),
});

export async function createConveyor(options: ConveyorOptions = {}): Promise<Conveyor> {
  const o = parseInput(optionsSchema, options);
  const logger = o.logger ?? defaultLogger;
  const store = await createStore(o.database ?? process.env.CONVEYOR_DATABASE_URL ?? DEFAULT_DATABASE, {
    durability: o.durability,
    clock: o.clock,
    schema: o.schema,
    poolSize: o.poolSize,
    logger,
  });
  const engine = new Engine(store, {
    clock: o.clock ?? systemClock,
    leaseMs: o.leaseMs ?? 30_000,
    random: o.random ?? Math.random,
    defaultTenant: o.tenant ?? 'default',
    changePollMs: o.changePollMs ?? 50,
  });
  return new Conveyor(engine, new ResourceRegistry(o.resources), logger);
}
