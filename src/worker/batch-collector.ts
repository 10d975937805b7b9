/**
 * @module batch-collector
 * Items of a `batch` step run together: the worker keeps each one it claims (leased, its
 * heartbeat running) in a batch for its type until the batch holds `size` items or its
 * first item has waited `flushMs`, then calls the handler once with every payload. The
 * handler returns one output per payload, in order; a throw fails them all alike. An item
 * that times out or is cancelled while it waits leaves the batch and is settled on its own.
 */
import type { JsonValue } from '../core/types.js';
import type { Settlement } from '../engine/engine.js';
import type { ItemRecord } from '../store/records.js';
import type { HandlerContext } from './handler-context.js';

/** What a batch handler receives besides its payloads. */
export interface BatchContext {
  /** One context per payload, in the same order (progress, log, consume per item). */
  items: HandlerContext[];
  /** Aborted once every item of the batch was aborted (shutdown, or each one cancelled). */
  signal: AbortSignal;
}

export interface BatchRun {
  record: ItemRecord;
  controller: { readonly signal: AbortSignal; abort(reason?: unknown): void };
  done: boolean;
  ctx: HandlerContext;
}

export type BatchHandler = (payloads: JsonValue[], ctx: BatchContext) => unknown;

interface Pending {
  runs: BatchRun[];
  timer: NodeJS.Timeout;
}

export class BatchCollector {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly handlerFor: (type: string) => BatchHandler,
    private readonly report: (run: BatchRun, s: Settlement) => void,
    private readonly outputOf: (record: ItemRecord, value: unknown) => Settlement,
    private readonly errorOf: (record: ItemRecord, thrown: unknown) => Settlement,
  ) {}

  add(run: BatchRun): void {
    const policy = run.record.policies!.batch!;
    const key = run.record.type;
    let p = this.pending.get(key);
    if (!p) {
      const timer = setTimeout(() => this.flush(key), policy.flushMs);
      this.pending.set(key, (p = { runs: [], timer }));
    }
    p.runs.push(run);
    if (p.runs.length >= policy.size) this.flush(key);
  }

  /** Runs every partial batch now (the worker is stopping). */
  flushAll(): void {
    for (const key of [...this.pending.keys()]) this.flush(key);
  }

  private flush(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    clearTimeout(p.timer);
    const runs = p.runs.filter((r) => !r.done);
    if (runs.length === 0) return;
    const all = new AbortController();
    const onAbort = () => {
      if (runs.every((r) => r.controller.signal.aborted)) all.abort(runs[0]!.controller.signal.reason);
    };
    for (const r of runs) r.controller.signal.addEventListener('abort', onAbort, { once: true });
    const handler = this.handlerFor(key);
    void Promise.resolve()
      .then(() =>
        handler(
          runs.map((r) => r.record.payload),
          { items: runs.map((r) => r.ctx), signal: all.signal },
        ),
      )
      .then(
        (outputs) => {
          if (!Array.isArray(outputs) || outputs.length !== runs.length) {
            const shape = Array.isArray(outputs) ? `${outputs.length} outputs` : typeof outputs;
            const error = {
              code: 'VALIDATION',
              message: `batch handler for ${key} must return an array of ${runs.length} outputs, got ${shape}`,
            };
            for (const r of runs)
              this.report(r, {
                kind: 'fail',
                itemId: r.record.id,
                token: r.record.leaseToken,
                error,
                retryable: false,
              });
            return;
          }
          runs.forEach((r, i) => this.report(r, this.outputOf(r.record, outputs[i])));
        },
        (thrown: unknown) => {
          for (const r of runs) this.report(r, this.errorOf(r.record, thrown));
        },
      );
  }
}
