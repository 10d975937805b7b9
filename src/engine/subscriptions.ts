/**
 * @module subscriptions
 * `subscribe(filter, listener)`: events after `afterSeq` from the log first, then live ones,
 * in seq order, none twice. One reader loop per subscription tracks the last seq it
 * delivered and reads the log again whenever the notifier says it grew; a listener that
 * returns a promise is awaited before the next event, so a slow consumer slows its own
 * subscription instead of buffering without bound.
 */
import type { ConveyorEvent } from '../core/types.js';
import type { EventRecord } from '../store/records.js';
import type { EventFilter, Store } from '../store/store.js';
import type { EventScope, Notifier } from './notifier.js';

const PAGE = 500;

export type EventListener = (event: ConveyorEvent) => void | Promise<void>;

export interface Subscription {
  /** Seq of the last event delivered. */
  readonly lastSeq: number;
  /** Resolves once the backlog (events up to the head at subscribe time) was delivered. */
  readonly ready: Promise<void>;
  close(): void;
}

export function toConveyorEvent(e: EventRecord): ConveyorEvent {
  return {
    seq: e.seq,
    type: e.type,
    at: new Date(e.at).toISOString(),
    tenant: e.tenant,
    itemId: e.itemId,
    workflowId: e.workflowId,
    data: e.data,
  };
}

/** Whether an event with this scope passes `filter` (as `eventsAfter` would select it). */
function matches(filter: EventFilter, e: EventScope): boolean {
  return (
    (filter.itemId === undefined || e.itemId === filter.itemId) &&
    (filter.workflowId === undefined || e.workflowId === filter.workflowId) &&
    (filter.tenant === undefined || e.tenant === filter.tenant) &&
    (!filter.workflowEventsOnly || e.itemId === null)
  );
}

export function subscribe(
  store: Store,
  notifier: Notifier,
  filter: EventFilter,
  afterSeq: number | undefined,
  listener: EventListener,
  onListenerError: (e: unknown) => void,
  /**
   * The events the listener acts on, if not all it is given: an in-process commit that
   * appended none of them does not make this subscription read the log (the events it
   * skipped are delivered with the next one it reads, in order, as ever).
   */
  wanted: (e: EventScope) => boolean = () => true,
): Subscription {
  let lastSeq = afterSeq ?? -1;
  let closed = false;
  let pumping = false;
  let again = false;

  const pump = async (): Promise<void> => {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      if (lastSeq < 0) lastSeq = await store.headSeq();
      do {
        again = false;
        let page: EventRecord[];
        do {
          if (closed) return;
          page = await store.eventsAfter(lastSeq, filter, PAGE);
          for (const e of page) {
            if (closed) return;
            lastSeq = e.seq;
            try {
              await listener(toConveyorEvent(e));
            } catch (err) {
              onListenerError(err);
            }
          }
        } while (page.length === PAGE);
      } while (again && !closed);
    } catch (err) {
      if (!closed) onListenerError(err);
    } finally {
      pumping = false;
    }
  };

  // An in-process commit says which events it appended: one none of which this filter
  // matches is no news here (a workflow's waiter is not woken by each of its steps).
  const onAppended = (events?: readonly EventScope[]) => {
    if (events === undefined || events.some((e) => matches(filter, e) && wanted(e))) void pump();
  };
  notifier.on('appended', onAppended);
  const unwatch = notifier.watch();
  const ready = pump();

  return {
    get lastSeq() {
      return lastSeq;
    },
    ready,
    close() {
      if (closed) return;
      closed = true;
      notifier.off('appended', onAppended);
      unwatch();
    },
  };
}
