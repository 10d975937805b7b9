/**
 * @module replay
 * The event log is the source of truth: folding an item's events from `item.enqueued`
 * onwards gives its state. Each event carries the patch its transaction wrote, and the
 * fold checks that every event starts from the status the previous one left, so a log
 * with a missing or reordered event is reported, not silently absorbed.
 */
import type { EventRecord, ItemState } from '../store/records.js';
import type { StoreReads } from '../store/store.js';

export class ReplayError extends Error {
  constructor(
    readonly seq: number,
    message: string,
  ) {
    super(`event ${seq}: ${message}`);
    this.name = 'ReplayError';
  }
}

/** Applies item events in seq order to `states` (item id → state) and returns it. */
export function replayItemEvents(
  events: Iterable<EventRecord>,
  states = new Map<string, ItemState>(),
): Map<string, ItemState> {
  for (const e of events) {
    if (e.itemId === null) continue;
    if (e.type === 'item.enqueued') {
      if (states.has(e.itemId)) throw new ReplayError(e.seq, `item ${e.itemId} enqueued twice`);
      states.set(e.itemId, structuredClone(e.data.item as ItemState));
      continue;
    }
    const state = states.get(e.itemId);
    if (!state) throw new ReplayError(e.seq, `${e.type} for item ${e.itemId}, which was never enqueued`);
    if (e.data.from !== state.status) {
      throw new ReplayError(
        e.seq,
        `${e.type} starts from ${String(e.data.from)} but item ${e.itemId} is ${state.status}`,
      );
    }
    Object.assign(state, structuredClone(e.data.patch as Partial<ItemState>));
  }
  return states;
}

/** Reads a part of the log page by page, from the start, handing each page to `apply`. */
export async function foldLog(
  read: (afterSeq: number, limit: number) => EventRecord[] | Promise<EventRecord[]>,
  apply: (page: EventRecord[]) => void,
  pageSize = 5000,
): Promise<void> {
  let after = 0;
  for (;;) {
    const page = await read(after, pageSize);
    apply(page);
    if (page.length < pageSize) return;
    after = page.at(-1)!.seq;
  }
}

/** Rebuilds every item's state from the whole log. */
export async function rebuildItemStates(
  store: Pick<StoreReads, 'itemEvents'>,
): Promise<Map<string, ItemState>> {
  const states = new Map<string, ItemState>();
  await foldLog(
    (after, n) => store.itemEvents(after, n),
    (page) => replayItemEvents(page, states),
  );
  return states;
}
