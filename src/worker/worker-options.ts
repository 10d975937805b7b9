/**
 * @module worker-options
 * The options of `cv.worker()`, their defaults and their validation: every number is a
 * whole number in range, so a typo cannot turn a timer into a busy loop.
 */
import { hostname } from 'node:os';
import { ValidationError } from '../core/errors.js';
import { nameSchema, parseArg } from '../engine/validation.js';
import type { Handler } from './handler-context.js';

export interface WorkerOptions {
  /** Executor id; defaults to `worker-<host>-<pid>-<n>`. */
  id?: string;
  capabilities?: string[];
  /** Items run at once. Default 1. */
  concurrency?: number;
  /** Only claim from these queues (default: all). */
  queues?: string[];
  /** Lease per claim; defaults to the Conveyor's `leaseMs`. */
  leaseMs?: number;
  handlers: Record<string, Handler>;
  /** Default: a third of the lease, at most 1 s (also bounds cross-process cancel latency). */
  heartbeatIntervalMs?: number;
  /** How often this worker returns expired leases. Default: half the lease, at most 5 s. */
  reaperIntervalMs?: number;
  /** How long `stop()` waits for running handlers before releasing their items. Default 10 s. */
  shutdownTimeoutMs?: number;
  /** Safety-net claim attempt when nothing woke the worker. Default 1 s. */
  pollIntervalMs?: number;
}

export interface ResolvedWorkerOptions {
  id: string;
  capabilities: string[];
  concurrency: number;
  queues: string[] | null;
  leaseMs: number;
  handlers: Record<string, Handler>;
  types: string[];
  heartbeatIntervalMs: number;
  reaperIntervalMs: number;
  shutdownTimeoutMs: number;
  pollIntervalMs: number;
}

const DAY_MS = 24 * 3600 * 1000;
let workerCounter = 0;

function wholeNumber(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ValidationError([{ field, message: `must be a whole number from ${min} to ${max}` }]);
  }
  return v;
}

const clamp = (v: number, lo: number, hi: number) => Math.round(Math.min(hi, Math.max(lo, v)));

export function resolveWorkerOptions(options: WorkerOptions, defaultLeaseMs: number): ResolvedWorkerOptions {
  if (!options || typeof options !== 'object' || !options.handlers || typeof options.handlers !== 'object') {
    throw new ValidationError([
      { field: 'handlers', message: 'must be an object of type → handler function' },
    ]);
  }
  for (const [type, fn] of Object.entries(options.handlers)) {
    parseArg(nameSchema, type, `handlers.${type}`);
    if (typeof fn !== 'function') {
      throw new ValidationError([{ field: `handlers.${type}`, message: 'must be a function' }]);
    }
  }
  const types = Object.keys(options.handlers);
  if (types.length === 0)
    throw new ValidationError([{ field: 'handlers', message: 'must have at least one handler' }]);
  const id = options.id ?? `worker-${hostname()}-${process.pid}-${++workerCounter}`;
  parseArg(nameSchema, id, 'id');
  for (const c of options.capabilities ?? []) parseArg(nameSchema, c, 'capabilities');
  for (const q of options.queues ?? []) parseArg(nameSchema, q, 'queues');
  const leaseMs = wholeNumber(options.leaseMs ?? defaultLeaseMs, 'leaseMs', 10, DAY_MS);
  return {
    id,
    capabilities: [...new Set(options.capabilities ?? [])],
    concurrency: wholeNumber(options.concurrency ?? 1, 'concurrency', 1, 10_000),
    queues: options.queues ?? null,
    leaseMs,
    handlers: options.handlers,
    types,
    heartbeatIntervalMs: wholeNumber(
      options.heartbeatIntervalMs ?? clamp(leaseMs / 3, 10, 1000),
      'heartbeatIntervalMs',
      10,
      DAY_MS,
    ),
    reaperIntervalMs: wholeNumber(
      options.reaperIntervalMs ?? clamp(leaseMs / 2, 10, 5000),
      'reaperIntervalMs',
      10,
      DAY_MS,
    ),
    shutdownTimeoutMs: wholeNumber(options.shutdownTimeoutMs ?? 10_000, 'shutdownTimeoutMs', 0, DAY_MS),
    pollIntervalMs: wholeNumber(options.pollIntervalMs ?? 1000, 'pollIntervalMs', 10, DAY_MS),
  };
}
