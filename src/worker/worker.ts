/**
 * @module worker
 * The pull worker (`cv.worker`). It claims items of the types it has handlers for, up to
 * its concurrency, as soon as the engine says work arrived (in-process) or another
 * process's commit wakes it: on PostgreSQL an idle worker registers and a writer that
 * queues work NOTIFYs as many idle workers as it queued items (no thundering herd); on
 * SQLite the store's change counter moves. A timer covers the next delayed item, and a
 * slow poll covers anything missed. Each
 * execution runs under a lease that a batched heartbeat renews. Results are written in
 * batches that also claim the slots they free; a result for a lease that was lost is
 * refused by the engine and logged as a warning.
 *
 * States: idle → running (start) → stopping (stop: no new claims, drain) → stopped.
 */
import { ClosedError, ConveyorError, LeaseLostError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Engine, Settlement } from '../engine/engine.js';
import type { ClaimRequest, HeldLease } from '../engine/leases.js';
import type { Revocation } from '../engine/tx-context.js';
import type { Resources } from '../resources/registry.js';
import type { ItemRecord } from '../store/records.js';
import type { WorkKind } from '../store/store.js';
import { createHandlerContext, settlementForError, settlementForOutput } from './handler-context.js';
import { BatchCollector, type BatchHandler, type BatchRun } from './batch-collector.js';
import { LazyAbort } from './lazy-abort.js';
import { SettleBatcher } from './settle-batcher.js';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './worker-options.js';

export type { WorkerOptions };

interface Run extends BatchRun {
  timer: NodeJS.Timeout | undefined;
  /** Set once the outcome is decided (result, timeout, cancel, lost lease, shutdown). */
  done: boolean;
  /** The handler used budget: the claimed record is no longer the stored row (see `Settlement.held`). */
  changed: boolean;
}

/** The longest delay a Node timer takes (2^31−1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

export class Worker {
  readonly id: string;
  private readonly o: ResolvedWorkerOptions;
  private readonly active = new Map<string, Run>();
  private readonly batcher: SettleBatcher;
  /** Items of `batch` steps waiting for their batch to fill (see batch-collector.ts). */
  private readonly batches: BatchCollector;
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  private claiming: Promise<void> | null = null;
  private fillAgain = false;
  private fillScheduled = false;
  /** Slots promised to claims in flight (a fill, or a settle batch's claim). */
  private reserved = 0;
  private timers: NodeJS.Timeout[] = [];
  private dueTimer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];
  private stopPromise: Promise<void> | undefined;
  private claimFailures = 0;
  /** Registered with the store's wake-ups as idle (PostgreSQL). */
  private waiting = false;
  /** The last claim returned fewer items than it asked for: the queue had nothing more. */
  private lastLookShort = false;

  constructor(
    private readonly engine: Engine,
    options: WorkerOptions,
    private readonly resources: Resources,
    private readonly logger: Logger,
    private readonly onStopped: (w: Worker) => void,
  ) {
    this.o = resolveWorkerOptions(options, engine.settings.leaseMs);
    this.id = this.o.id;
    this.batches = new BatchCollector(
      (type) => this.o.handlers[type] as unknown as BatchHandler,
      (run, s) => void this.report(run as Run, s),
      settlementForOutput,
      settlementForError,
    );
    this.batcher = new SettleBatcher(engine, this.id, logger, {
      reserve: (settling) => {
        const free = this.o.concurrency - this.active.size - this.reserved + settling;
        if (this.state !== 'running' || free <= 0) return null;
        this.reserved += free;
        return this.claimRequest(free);
      },
      claimed: (request, items) => {
        this.reserved -= request.limit;
        // The settled runs leave `active` as their results resolve, just before this.
        for (const record of items) this.execute(record);
        this.lastLookShort = items.length < request.limit;
        // A full claim: there may be more. A short one: nothing more now, unless we are not
        // registered for wake-ups, in which case register and look once more (see fill).
        if (!this.lastLookShort || (this.engine.store.wakeups && !this.waiting)) this.requestFill();
      },
    });
  }

  /** Items this worker is running now. */
  get running(): number {
    return this.active.size;
  }

  async start(): Promise<void> {
    if (this.engine.isClosed) throw new ClosedError();
    if (this.state !== 'idle')
      throw new ConveyorError('INVALID_TRANSITION', `worker ${this.id} was already started`);
    this.state = 'running';
    await this.engine.registerExecutor({
      id: this.id,
      capabilities: this.o.capabilities,
      concurrency: this.o.concurrency,
      busy: false,
    });
    this.engine.notifier.on('revoked', this.onRevoked);
    const wakeups = this.engine.store.wakeups;
    // With targeted wake-ups, in-process writes wake us the same way (a NOTIFY to our own
    // channel), so a new item wakes one worker here or elsewhere, never one of each.
    if (wakeups) this.unwatch = wakeups.onWake(this.id, this.onWake);
    else {
      this.engine.notifier.on('work', this.onWork);
      this.unwatch = this.engine.notifier.watch();
    }
    this.every(this.o.heartbeatIntervalMs, () => this.heartbeat());
    this.every(this.o.reaperIntervalMs, () => this.engine.reapExpired());
    // The poll timer is the one that keeps the process alive while the worker runs, as a
    // server's socket does; stop() clears it. Each tick also renews an idle registration.
    this.every(
      this.o.pollIntervalMs,
      () => {
        this.waiting = false;
        this.requestFill();
        return Promise.resolve();
      },
      true,
    );
    this.requestFill();
  }

  /** Stops claiming, waits for running handlers (up to shutdownTimeoutMs), releases the rest. */
  stop(): Promise<void> {
    this.stopPromise ??= this.shutdown();
    return this.stopPromise;
  }

  private every(ms: number, fn: () => Promise<unknown>, keepAlive = false): void {
    const t = setInterval(
      () => void fn().catch((e: unknown) => this.logger.warn(`worker ${this.id}: ${String(e)}`)),
      ms,
    );
    if (!keepAlive) t.unref();
    this.timers.push(t);
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'stopped';
      this.onStopped(this);
      return;
    }
    this.state = 'stopping';
    this.engine.notifier.off('work', this.onWork);
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.waiting) await this.withdraw();
    if (this.dueTimer) clearTimeout(this.dueTimer);
    await this.claiming;
    // Partial batches run now instead of waiting out flushMs during the drain.
    this.batches.flushAll();
    if (this.active.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => this.idleWaiters.push(r)),
        new Promise<void>((r) => (timer = setTimeout(r, this.o.shutdownTimeoutMs))),
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
    this.state = 'stopped';
    this.onStopped(this);
  }

  private readonly onWork = (kinds?: readonly WorkKind[]) => {
    if (kinds === undefined || kinds.some((k) => this.canTake(k))) this.requestFill();
  };

  /** Whether items of this kind are ones this worker could claim. */
  private canTake(k: WorkKind): boolean {
    const o = this.o;
    return (
      o.types.includes(k.type) &&
      (o.queues === null || o.queues.includes(k.queue)) &&
      k.capabilities.every((c) => o.capabilities.includes(c))
    );
  }

  /** A writer in some process woke us (and removed our registration). */
  private readonly onWake = () => {
    this.waiting = false;
    this.requestFill();
  };

  /** Tells the store we are idle, so the next writer of matching work wakes us. */
  private async registerIdle(): Promise<void> {
    const wakeups = this.engine.store.wakeups;
    if (!wakeups || this.waiting) return;
    this.waiting = true;
    await wakeups.idle(
      { id: this.id, types: this.o.types, queues: this.o.queues, capabilities: this.o.capabilities },
      // Outlives two poll ticks; each tick renews it while we stay idle.
      this.o.pollIntervalMs * 3,
    );
  }

  /** Registers for wake-ups; false (logged) when the store refused. */
  private async registered(): Promise<boolean> {
    try {
      await this.registerIdle();
      return true;
    } catch (e) {
      this.waiting = false;
      this.logger.warn(`worker ${this.id}: cannot register for wake-ups: ${String(e)}`);
      return false;
    }
  }

  /** Withdraws an idle registration (we are full or stopping), so wake-ups go to others. */
  private async withdraw(): Promise<void> {
    if (!this.waiting) return;
    this.waiting = false;
    await this.engine.store.wakeups?.busy(this.id).catch((e: unknown) => {
      this.logger.warn(`worker ${this.id}: ${String(e)}`);
    });
  }

  private readonly onRevoked = (revocations: Revocation[]) => {
    for (const r of revocations) {
      const run = this.active.get(r.itemId);
      if (run && !run.done) this.finish(run, new ConveyorError(r.code, r.message));
    }
  };

  /** Asks for a claim; requests in the same tick (many slots freed at once) make one. */
  private requestFill(): void {
    if (this.state !== 'running' || this.fillScheduled) return;
    if (this.claiming) {
      this.fillAgain = true;
      return;
    }
    this.fillScheduled = true;
    setImmediate(() => {
      this.fillScheduled = false;
      if (this.state !== 'running') return;
      if (this.claiming) {
        this.fillAgain = true;
        return;
      }
      this.claiming = this.fill().finally(() => (this.claiming = null));
    });
  }

  private claimRequest(limit: number): ClaimRequest {
    return {
      executorId: this.id,
      types: this.o.types,
      queues: this.o.queues,
      capabilities: this.o.capabilities,
      limit,
      leaseMs: this.o.leaseMs,
    };
  }

  private async fill(): Promise<void> {
    do {
      this.fillAgain = false;
      const free = this.o.concurrency - this.active.size - this.reserved;
      if (free <= 0 || this.state !== 'running') return;
      let claimed: ItemRecord[];
      this.reserved += free;
      try {
        claimed = await this.engine.claim(this.claimRequest(free));
        this.claimFailures = 0;
      } catch (e) {
        this.reserved -= free;
        if (this.engine.isClosed) return;
        // The store is busy or unreachable: try again soon, backing off, without crashing.
        this.claimFailures++;
        this.logger.warn(`worker ${this.id}: claim failed: ${String(e)}`);
        this.scheduleFill(Math.min(5000, 25 * 2 ** this.claimFailures));
        return;
      }
      this.reserved -= free;
      for (const record of claimed) this.execute(record);
      this.lastLookShort = claimed.length < free;
      if (!this.lastLookShort) {
        this.fillAgain = true;
        await this.withdraw();
      } else if (!this.fillAgain) {
        if (this.engine.store.wakeups && !this.waiting && (await this.registered())) {
          // Registered; look once more: work queued between our claim and the registration
          // woke nobody, and this second claim is what finds it.
          this.fillAgain = true;
          continue;
        }
        await this.scheduleNextDue();
      }
    } while (this.fillAgain && this.state === 'running');
  }

  /** Sleeps until the earliest delayed item this worker could take is due. */
  private async scheduleNextDue(): Promise<void> {
    const next = await this.engine.store.nextRunAt({
      types: this.o.types,
      queues: this.o.queues,
      capabilities: this.o.capabilities,
    });
    if (next !== null) this.scheduleFill(next - this.engine.now());
  }

  private scheduleFill(delayMs: number): void {
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = setTimeout(
      () => this.requestFill(),
      Math.min(Math.max(0, delayMs), this.o.pollIntervalMs),
    );
    this.dueTimer.unref();
  }

  private execute(record: ItemRecord): void {
    const controller = new LazyAbort();
    const ctx = createHandlerContext(this.engine, record, this.id, controller, this.resources, () => {
      run.changed = true;
    });
    const run: Run = { record, controller, ctx, timer: undefined, done: false, changed: false };
    this.active.set(record.id, run);
    if (record.deadlineAt !== null) this.armDeadline(run, record.deadlineAt);
    if (record.policies?.batch) {
      this.batches.add(run);
      return;
    }
    const handler = this.o.handlers[record.type]!;
    // Handlers may be sync or async, and may throw before returning a promise.
    void Promise.resolve()
      .then(() => handler(record.payload, ctx))
      .then(
        (value) => settlementForOutput(record, value),
        (error: unknown) => settlementForError(record, error),
      )
      .then((s) => this.report(run, s));
  }

  /**
   * Times the run out at `deadlineAt`. Node's timers hold at most 2^31−1 ms (24.8 days) and
   * fire at once for more, so a longer limit waits in steps of that size.
   */
  private armDeadline(run: Run, deadlineAt: number): void {
    const ms = Math.max(0, deadlineAt - this.engine.now());
    run.timer = setTimeout(
      () => (ms > MAX_TIMER_MS ? this.armDeadline(run, deadlineAt) : this.onTimeout(run)),
      Math.min(ms, MAX_TIMER_MS),
    );
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
    const { result, refilled } = await this.batcher.settle({
      ...s,
      workflowId: run.record.workflowId,
      // A failure may carry the item on as a fallback with its payload: read as stored.
      held: run.changed || s.kind !== 'complete' ? undefined : run.record,
    });
    if (!result.ok) {
      // A late finisher fenced off (its lease was lost meanwhile): worth seeing, not an error.
      this.logger.warn(
        `worker ${this.id}: result for ${run.record.id} not recorded: ${String(result.error)}`,
      );
    }
    // When the batch also claimed for the slot this run frees, that claim was the look.
    this.release(run, !refilled);
  }

  /** Ends a run whose outcome was decided elsewhere (cancel, lost lease, shutdown). */
  private finish(run: Run, reason: ConveyorError): void {
    run.done = true;
    if (run.timer) clearTimeout(run.timer);
    run.controller.abort(reason);
    this.release(run);
  }

  private release(run: Run, fill = true): void {
    if (this.active.get(run.record.id) !== run) return;
    this.active.delete(run.record.id);
    if (this.active.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    if (fill) this.requestFill();
  }

  private async heartbeat(): Promise<void> {
    // Every run still here holds its lease, also one whose result waits to be written: a
    // settlement queued behind a busy workflow row may take longer than a lease, and the
    // reaper must not hand the item to another worker meanwhile (its result would then be
    // refused and the work done twice). A run leaves `active` once its result is written.
    const leases: HeldLease[] = [];
    for (const run of this.active.values()) leases.push({ id: run.record.id, token: run.record.leaseToken });
    if (leases.length === 0) return;
    const lost = await this.engine.heartbeat(this.id, leases, this.o.leaseMs);
    for (const id of lost) {
      const run = this.active.get(id);
      if (run && !run.done)
        this.finish(run, new LeaseLostError(id, this.id, 'cancelled, expired or taken over'));
    }
  }
}
