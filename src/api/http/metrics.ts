/**
 * @module metrics
 * `GET /metrics` in the Prometheus text format (prom-client). Queue depth per status is
 * read from the store at scrape time, so it covers every process sharing the store.
 * Claims, completions, failures, retries and latencies come from following the event log
 * from the server's start: also every process's, not only this one's. Latencies pair an
 * item's `started` with its final event (run time) and its queueing with its start (wait
 * time); the pairing keeps at most 100,000 open items in memory.
 */
import client from 'prom-client';
import type { Conveyor } from '../../client/conveyor.js';
import type { Subscription } from '../../engine/subscriptions.js';
import { ITEM_STATUSES } from '../../core/item-state.js';

const OPEN_LIMIT = 100_000;
const SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 1800];

export class ServiceMetrics {
  readonly registry = new client.Registry();
  private readonly subscription: Subscription;
  private readonly queuedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  readonly httpDuration: client.Histogram<'method' | 'route' | 'status'>;

  constructor(cv: Conveyor) {
    const r = this.registry;
    client.collectDefaultMetrics({ register: r, prefix: 'conveyor_process_' });
    new client.Gauge({
      name: 'conveyor_items',
      help: 'Work items by status (queue depth: status="queued"), every tenant, every process',
      labelNames: ['status'],
      registers: [r],
      async collect() {
        const counts = await cv.getCounts();
        for (const s of ITEM_STATUSES) this.set({ status: s }, counts[s]);
      },
    });
    const counter = (name: string, help: string) => new client.Counter({ name, help, registers: [r] });
    const claims = counter(
      'conveyor_claims_total',
      'Items taken by an executor (started) since the server started',
    );
    const completions = counter('conveyor_completions_total', 'Items completed since the server started');
    const failures = counter('conveyor_failures_total', 'Items failed for good since the server started');
    const retries = counter(
      'conveyor_retries_total',
      'Failed attempts sent back to the queue since the server started',
    );
    const runTime = new client.Histogram({
      name: 'conveyor_item_run_seconds',
      help: 'From an item starting to its final state',
      buckets: SECONDS,
      registers: [r],
    });
    const waitTime = new client.Histogram({
      name: 'conveyor_item_wait_seconds',
      help: 'From an item becoming queued to its start',
      buckets: SECONDS,
      registers: [r],
    });
    this.httpDuration = new client.Histogram({
      name: 'conveyor_http_request_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: SECONDS,
      registers: [r],
    });
    const remember = (map: Map<string, number>, id: string, at: number) => {
      if (map.size >= OPEN_LIMIT) map.delete(map.keys().next().value!);
      map.set(id, at);
    };
    this.subscription = cv.subscribe({}, (e) => {
      if (e.itemId === null) return;
      const at = Date.parse(e.at);
      const to = e.data.to;
      if ((e.type === 'item.enqueued' && to === 'queued') || e.type === 'item.queued' || to === 'queued')
        remember(this.queuedAt, e.itemId, at);
      if (e.type === 'item.started') {
        claims.inc();
        const q = this.queuedAt.get(e.itemId);
        if (q !== undefined) waitTime.observe((at - q) / 1000);
        this.queuedAt.delete(e.itemId);
        remember(this.startedAt, e.itemId, at);
      }
      if (e.type === 'item.retried') retries.inc();
      if (to === 'completed' || to === 'failed') {
        (to === 'completed' ? completions : failures).inc();
        const s = this.startedAt.get(e.itemId);
        if (s !== undefined) runTime.observe((at - s) / 1000);
      }
      if (to === 'completed' || to === 'failed' || to === 'cancelled' || to === 'skipped') {
        this.startedAt.delete(e.itemId);
        this.queuedAt.delete(e.itemId);
      }
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    this.subscription.close();
  }
}
