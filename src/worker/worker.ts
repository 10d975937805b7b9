/**
 * @module worker
 * The pull worker (`cv.worker`). It claims items of the types it has handlers for, up to
 * its concurrency, as soon as the engine says work arrived (in-process) or the store's
 * change counter moves (other processes); a timer covers the next delayed item. Each
 * execution runs under a lease that a batched heartbeat renews. Results are written in
 * batches; a result for a lease that was lost is refused by the engine and only logged.
 *
 * States: idle → running (start) → stopping (stop: no new claims, drain) → stopped.
 */
import { hostname } from 'node:os';
import { ConveyorError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Engine, Settlement } from '../engine/engine.js';
import type { HeldLease } from '../engine/leases.js';
import { nameSchema, parseArg } from '../engine/validation.js';
import type { Resources } from '../resources/registry.js';
import type { ItemRecord } from '../store/records.js';
import {
  createHandlerContext,
  settlementForError,
  settlementForOutput,
  type Handler,
} from './handler-context.js';
import { SettleBatcher } from './settle-batcher.js';

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

interface Run {
  record: ItemRecord;
  controller: AbortController;
  timer: NodeJS.Timeout | undefined;
  /** Set once the outcome is decided (result, timeout, cancel, lost lease, shutdown). */
  done: boolean;
}

let workerCounter = 0;

export class Worker {
  readonly id: string;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly types: string[];
  private readonly active = new Map<string, Run>();
  private readonly batcher: SettleBatcher;
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  private claiming: Promise<void> | null = null;
  private fillAgain = false;
  private timers: NodeJS.Timeout[] = [];
  private dueTimer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];
  private stopPromise: Promise<void> | undefined;
  private claimFailures = 0;

  constructor(
    private readonly engine: Engine,
    private readonly options: WorkerOptions,
    private readonly resources: Resources,
    private readonly logger: Logger,
    private readonly onStopped: (w: Worker) => void,
  ) {
    if (
      !options ||
      typeof options !== 'object' ||
      !options.handlers ||
      typeof options.handlers !== 'object'
    ) {
      throw new ValidationError([
        { field: 'handlers', message: 'must be an object of type → handler function' },
      ]);
    }
    for (const [type, fn] of Object.entries(options.handlers)) {
      parseArg(nameSchema, type, `handlers.${type}`);
      if (typeof fn !== 'function')
        throw new ValidationError([{ field: `handlers.${type}`, message: 'must be a function' }]);
    }
    this.types = Object.keys(options.handlers);
    if (this.types.length === 0)
      throw new ValidationError([{ field: 'handlers', message: 'must have at least one handler' }]);
    this.id = options.id ?? `worker-${hostname()}-${process.pid}-${++workerCounter}`;
    parseArg(nameSchema, this.id, 'id');
    this.concurrency = positiveInt(options.concurrency ?? 1, 'concurrency');
    this.leaseMs = positiveInt(options.leaseMs ?? engine.settings.leaseMs, 'leaseMs');
    for (const c of options.capabilities ?? []) parseArg(nameSchema, c, 'capabilities');
    for (const q of options.queues ?? []) parseArg(nameSchema, q, 'queues');
    this.batcher = new SettleBatcher(engine, this.id, logger);
  }

  get running(): number {
    return this.active.size;
  }

  async start(): Promise<void> {
    if (this.state !== 'idle')
      throw new ConveyorError('INVALID_TRANSITION', `worker ${this.id} was already started`);
    this.state = 'running';
    await this.engine.registerExecutor({
      id: this.id,
      capabilities: this.options.capabilities ?? [],
      concurrency: this.concurrency,
      busy: false,
    });
    this.engine.notifier.on('work', this.onWork);
    this.engine.notifier.on('revoked', this.onRevoked);
    this.unwatch = this.engine.notifier.watch();
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(
        () => void fn().catch((e: unknown) => this.logger.warn(`worker ${this.id}: ${String(e)}`)),
        ms,
      );
      t.unref();
      this.timers.push(t);
    };
    every(this.options.heartbeatIntervalMs ?? clamp(this.leaseMs / 3, 50, 1000), () => this.heartbeat());
    every(this.options.reaperIntervalMs ?? clamp(this.leaseMs / 2, 50, 5000), () =>
      this.engine.reapExpired(),
    );
    every(this.options.pollIntervalMs ?? 1000, () => Promise.resolve(this.requestFill()));
    this.requestFill();
  }

  /** Stops claiming, waits for running handlers (up to shutdownTimeoutMs), releases the rest. */
  stop(): Promise<void> {
    this.stopPromise ??= this.shutdown();
    return this.stopPromise;
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'stopped';
      this.onStopped(this);
      return;
    }
    this.state = 'stopping';
    this.engine.notifier.off('work', this.onWork);
    if (this.dueTimer) clearTimeout(this.dueTimer);
    await this.claiming;
    if (this.active.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => this.idleWaiters.push(r)),
        new Promise<void>((r) => (timer = setTimeout(r, this.options.shutdownTimeoutMs ?? 10_000))),
      ]);
      clearTimeout(timer);
    }
    const leftovers = [...this.active.values()].filter((r) => !r.done);
    for (const run of leftovers)
      this.finish(run, new ConveyorError('SHUTDOWN', `worker ${this.id} is shutting down`));
    await this.batcher.drain();
    if (leftovers.length > 0 && !this.engine.isClosed) {
      await this.engine.release(
        this.id,
        leftovers.map((r) => ({ id: r.record.id, token: r.record.leaseToken })),
      );
    }
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.engine.notifier.off('revoked', this.onRevoked);
    this.unwatch?.();
    this.state = 'stopped';
    this.onStopped(this);
  }

  private readonly onWork = () => this.requestFill();

  private readonly onRevoked = (ids: string[]) => {
    for (const id of ids) {
      const run = this.active.get(id);
      if (run && !run.done)
        this.finish(
          run,
          new ConveyorError('CANCELLED', `work item ${id} was cancelled or its lease was lost`),
        );
    }
  };

  private requestFill(): void {
    if (this.state !== 'running') return;
    if (this.claiming) {
      this.fillAgain = true;
      return;
    }
    this.claiming = this.fill().finally(() => (this.claiming = null));
  }

  private async fill(): Promise<void> {
    do {
      this.fillAgain = false;
      const free = this.concurrency - this.active.size;
      if (free <= 0 || this.state !== 'running') return;
      let claimed: ItemRecord[];
      try {
        claimed = await this.engine.claim({
          executorId: this.id,
          types: this.types,
          queues: this.options.queues ?? null,
          capabilities: this.options.capabilities ?? [],
          limit: free,
          leaseMs: this.leaseMs,
        });
        this.claimFailures = 0;
      } catch (e) {
        if (this.engine.isClosed) return;
        // The store is busy or unreachable: try again soon, backing off, without crashing.
        this.claimFailures++;
        this.logger.warn(`worker ${this.id}: claim failed: ${String(e)}`);
        this.scheduleFill(Math.min(5000, 25 * 2 ** this.claimFailures));
        return;
      }
      for (const record of claimed) this.execute(record);
      if (claimed.length === free) this.fillAgain = true;
      else if (!this.fillAgain) await this.scheduleNextDue();
    } while (this.fillAgain && this.state === 'running');
  }

  /** Sleeps until the earliest delayed item this worker could take is due. */
  private async scheduleNextDue(): Promise<void> {
    const next = await this.engine.store.nextRunAt({
      types: this.types,
      queues: this.options.queues ?? null,
      capabilities: this.options.capabilities ?? [],
    });
    if (next !== null) this.scheduleFill(next - this.engine.settings.clock.now());
  }

  private scheduleFill(delayMs: number): void {
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = setTimeout(
      () => this.requestFill(),
      clamp(delayMs, 0, this.options.pollIntervalMs ?? 1000),
    );
    this.dueTimer.unref();
  }

  private execute(record: ItemRecord): void {
    const run: Run = { record, controller: new AbortController(), timer: undefined, done: false };
    this.active.set(record.id, run);
    if (record.deadlineAt !== null) {
      const ms = record.deadlineAt - this.engine.settings.clock.now();
      run.timer = setTimeout(() => this.onTimeout(run), Math.max(0, ms));
    }
    const handler = this.options.handlers[record.type]!;
    const ctx = createHandlerContext(this.engine, record, this.id, run.controller.signal, this.resources);
    // Handlers may be sync or async, and may throw before returning a promise.
    void Promise.resolve()
      .then(() => handler(record.payload, ctx))
      .then(
        (value) => settlementForOutput(record, value),
        (error: unknown) => settlementForError(record, error),
      )
      .then((s) => this.report(run, s));
  }

  private onTimeout(run: Run): void {
    if (run.done) return;
    const error = new ConveyorError(
      'TIMEOUT',
      `work item ${run.record.id} ran longer than ${run.record.maxDurationMs} ms`,
    );
    run.controller.abort(error);
    void this.report(run, {
      kind: 'fail',
      itemId: run.record.id,
      token: run.record.leaseToken,
      error,
      retryable: true,
    });
  }

  private async report(run: Run, s: Settlement): Promise<void> {
    if (run.done) return;
    run.done = true;
    if (run.timer) clearTimeout(run.timer);
    const result = await this.batcher.settle(s);
    if (!result.ok) {
      this.logger.debug(
        `worker ${this.id}: result for ${run.record.id} not recorded: ${String(result.error)}`,
      );
    }
    this.release(run);
  }

  /** Ends a run whose outcome was decided elsewhere (cancel, lost lease, shutdown). */
  private finish(run: Run, reason: ConveyorError): void {
    run.done = true;
    if (run.timer) clearTimeout(run.timer);
    run.controller.abort(reason);
    this.release(run);
  }

  private release(run: Run): void {
    if (this.active.get(run.record.id) !== run) return;
    this.active.delete(run.record.id);
    if (this.active.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.requestFill();
  }

  private async heartbeat(): Promise<void> {
    const leases: HeldLease[] = [];
    for (const run of this.active.values())
      if (!run.done) leases.push({ id: run.record.id, token: run.record.leaseToken });
    if (leases.length === 0) return;
    const lost = await this.engine.heartbeat(this.id, leases, this.leaseMs);
    if (lost.length > 0) this.onRevoked(lost);
  }
}

function positiveInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1_000_000) {
    throw new ValidationError([{ field, message: 'must be a whole number from 1 to 1000000' }]);
  }
  return v;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
