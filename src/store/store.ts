/**
 * @module store
 * The storage contract every backend implements. The engine holds all the rules (the
 * state machine, retries, dependencies, receipts); a backend stores rows, runs one write
 * transaction at a time per connection and answers the queries below. Methods return
 * `Awaitable` so a synchronous backend (better-sqlite3) pays no promise per call while a
 * networked one (PostgreSQL) can be async; callers always `await`.
 */
import type { ItemStatus } from '../core/item-state.js';
import type { Receipt } from '../core/types.js';
import type {
  EventRecord,
  ExecutorRecord,
  ItemPatch,
  ItemRecord,
  LeasePatch,
  LogRecord,
  NewEvent,
} from './records.js';
import type { ListPage, Page } from './paging.js';

export type { ListPage, Page };
import type {
  BreakerRecord,
  CacheEntry,
  RateBucket,
  SignalRecord,
  StepOutcome,
  WorkflowFilter,
  WorkflowPatch,
  WorkflowRecord,
  WorkflowSpec,
} from './workflow-records.js';
import type { ServiceReads, ServiceWrites } from './service-records.js';

export type Awaitable<T> = T | Promise<T>;

export interface ItemFilter {
  tenant?: string | undefined;
  status?: ItemStatus | ItemStatus[] | undefined;
  type?: string | undefined;
  queue?: string | undefined;
  workflowId?: string | undefined;
  executorId?: string | undefined;
}

/** What a pull worker may take: the types it has handlers for and the capabilities it has. */
/** What `renewLeases` did: see there. */
export interface RenewedLeases {
  renewed: string[];
  lost: string[];
}

export interface ClaimSpec {
  types: readonly string[] | null;
  queues: readonly string[] | null;
  capabilities: readonly string[];
  /** Only this tenant's items (a remote executor of one tenant); any tenant when absent. */
  tenant?: string | null | undefined;
  now: number;
  limit: number;
}

export interface EventFilter {
  itemId?: string | undefined;
  workflowId?: string | undefined;
  tenant?: string | undefined;
  /** Only events about workflows themselves, not about their items. */
  workflowEventsOnly?: boolean | undefined;
}

/** Reads about items. Outside a transaction they see committed data only. */
export interface ItemReads {
  /** The item, or undefined. Inside a write transaction the row is locked for it (PostgreSQL). */
  getItem(id: string): Awaitable<ItemRecord | undefined>;
  /**
   * Items by id, in no particular order; unknown ids are left out. Inside a write
   * transaction the rows are share-locked (PostgreSQL), so they cannot change before commit.
   */
  getItems(ids: readonly string[]): Awaitable<ItemRecord[]>;
  findByIdempotencyKey(tenant: string, key: string): Awaitable<ItemRecord | undefined>;
  /** Newest first, with the seq of the last row for the next page. */
  listItems(filter: ItemFilter, page: ListPage): Awaitable<Page<ItemRecord>>;
  countByStatus(filter: ItemFilter): Awaitable<Partial<Record<ItemStatus, number>>>;
  /** Queued items in claim order: priority high→low, then runAt, then enqueue order. */
  queuedItems(filter: ItemFilter, limit: number): Awaitable<ItemRecord[]>;
  /** Ids of items that list `id` among their dependencies and are still `pending`. */
  pendingDependents(id: string): Awaitable<string[]>;

  /** Items holding an executor's lease (assigned or running). */
  activeCountForExecutor(executorId: string): Awaitable<number>;
  /** The earliest runAt among queued items a claim with `spec` could take later; null if none. */
  nextRunAt(spec: Omit<ClaimSpec, 'now' | 'limit'>): Awaitable<number | null>;
}

export interface ReceiptReads {
  /** The item's receipts in chain order: the receipts of its events, in log order. */
  receipts(itemId: string): Awaitable<Receipt[]>;
}

export interface EventReads {
  /** Events with seq > afterSeq matching the filter, in seq order. */
  eventsAfter(afterSeq: number, filter: EventFilter, limit: number): Awaitable<EventRecord[]>;
  /** All events of items (for replay), in seq order, from afterSeq. */
  itemEvents(afterSeq: number, limit: number): Awaitable<EventRecord[]>;
  /** The highest seq written so far (0 when empty). */
  headSeq(): Awaitable<number>;
}

export interface ExecutorReads {
  getExecutor(id: string): Awaitable<ExecutorRecord | undefined>;
  listExecutors(): Awaitable<ExecutorRecord[]>;
}

export interface LogReads {
  logs(itemId: string, limit: number): Awaitable<LogRecord[]>;
}

/** Reads about workflows. Inside a write transaction `getWorkflow` locks the row (PostgreSQL). */
export interface WorkflowReads {
  getWorkflow(id: string): Awaitable<WorkflowRecord | undefined>;
  /** The definition and input a workflow was started with (they never change). */
  workflowSpec(id: string): Awaitable<WorkflowSpec | undefined>;
  findWorkflowByIdempotencyKey(tenant: string, key: string): Awaitable<WorkflowRecord | undefined>;
  /** Newest first, with the seq of the last row for the next page. */
  listWorkflows(filter: WorkflowFilter, page: ListPage): Awaitable<Page<WorkflowRecord>>;
  /** The items of a workflow's steps (not map children), in creation order. */
  workflowSteps(workflowId: string): Awaitable<ItemRecord[]>;
  /** What became of each of them, the same rows: all a run's result needs (`waitForWorkflow`). */
  workflowOutcomes(workflowId: string): Awaitable<StepOutcome[]>;
  /** The children of a map step, in index order. */
  mapChildren(workflowId: string, stepId: string): Awaitable<ItemRecord[]>;
  /** The first event of this name sent to the workflow, if any. */
  firstSignal(workflowId: string, name: string): Awaitable<SignalRecord | undefined>;
  /** Workflow events (not item events) for replay, in seq order, from afterSeq. */
  workflowEvents(afterSeq: number, limit: number): Awaitable<EventRecord[]>;
}

export interface StoreReads
  extends ItemReads, ReceiptReads, EventReads, ExecutorReads, LogReads, WorkflowReads, ServiceReads {}

/** Workflow rows and the shared state of policies; only inside `Store.write`. */
export interface WorkflowWrites {
  insertWorkflow(workflow: WorkflowRecord, spec: WorkflowSpec): Awaitable<void>;
  updateWorkflow(id: string, patch: WorkflowPatch): Awaitable<void>;
  insertSignal(signal: Omit<SignalRecord, 'seq'>): Awaitable<void>;
  /**
   * The bucket of a rateLimit key, created as `initial` when there is none, and locked for
   * this transaction (PostgreSQL): two processes meeting a new key cannot both start from
   * a full bucket.
   */
  lockRateBucket(initial: RateBucket): Awaitable<RateBucket>;
  putRateBucket(bucket: RateBucket): Awaitable<void>;
  /** The breaker of a circuitBreaker key, created as `initial` when there is none, and locked. */
  lockBreaker(initial: BreakerRecord): Awaitable<BreakerRecord>;
  putBreaker(breaker: BreakerRecord): Awaitable<void>;
  /** A cached output that has not expired at `now`. */
  getCached(key: string, now: number): Awaitable<CacheEntry | undefined>;
  putCached(entry: CacheEntry): Awaitable<void>;
}

/** Writes; only available inside `Store.write`. */
export interface StoreWrites {
  /** Inserts a new item and its dependency edges. Throws CONFLICT on a taken id. */
  insertItem(item: ItemRecord): Awaitable<void>;
  /**
   * Locks the listed items (unknown ids are ignored) for the rest of the transaction. A
   * batch operation calls it first, so that a backend with a network between it and its
   * rows (PostgreSQL) locks them, and reads what settling them needs, in one round trip
   * instead of one per item; `getItem` and `pendingDependents` on them are then answered
   * without another. SQLite, whose write transactions already exclude each other, does nothing.
   * `known`: records of some of them as the caller knows them (a worker's claim, unchanged
   * by its handler, see `Settlement.held`). A backend may take those instead of reading the
   * rows, provided it makes sure before commit that every one is still as known (running,
   * same holder, lease token and receipt seq) and has no pending dependent; PostgreSQL runs
   * the transaction again, reading them, when one is not. `workflows`: the workflow rows
   * the caller locks right after (`getWorkflow`, in id order), which a backend may lock in
   * the same round trip, in that order.
   */
  lockItems(
    ids: readonly string[],
    known?: ReadonlyMap<string, ItemRecord>,
    workflows?: readonly string[],
  ): Awaitable<void>;
  /**
   * What fences a held item, read without the rest of the row: enough to tell that a record
   * read earlier (a worker's claim) is still the stored one, since every change to a running
   * item is a transition (a new receipt seq) or a new holder (another token or executor),
   * but for budget use, which only its holder makes. Undefined for an unknown id.
   */
  itemFence(id: string): Awaitable<ItemFence | undefined>;
  /**
   * Dependencies of these items have completed, `n` of them for item `id`: counts their
   * `unfinishedDeps` down by that many and returns the items as they are now, by id (the
   * caller queues those with none left, without reading them again). The caller holds
   * their locks (`lockItems`), so two parents completing at once count down one after the
   * other.
   */
  countDownDependencies(counts: ReadonlyMap<string, number>): Awaitable<Map<string, ItemRecord>>;
  /** Applies a patch (and lease fields) to one item. */
  updateItem(id: string, patch: ItemPatch, lease?: LeasePatch): Awaitable<void>;
  /**
   * Locks and returns up to `spec.limit` claimable items: queued, due, of a listed type and
   * queue, whose required capabilities the claimer has, in claim order.
   */
  claimCandidates(spec: ClaimSpec): Awaitable<ItemRecord[]>;
  /** Items in `assigned`/`running` whose lease or deadline passed before `now`. */
  expiredItems(now: number, limit: number): Awaitable<ItemRecord[]>;
  /**
   * Moves the lease of each listed (id, token) still held by `executorId`. `renewed` are the
   * ids moved, `lost` those the executor no longer holds. A row another transaction has
   * locked (its result being written, a cancel) is in neither: it is not waited for, so
   * one slow settlement cannot hold back the renewal of every other lease.
   */
  renewLeases(
    executorId: string,
    leases: ReadonlyArray<{ id: string; token: number }>,
    expiresAt: number,
  ): Awaitable<RenewedLeases>;
  /**
   * Appends to the event log; a transition's event carries its receipt, stored in the same
   * row. Seqs follow commit order (a reader that has seen seq n will never later find a new
   * event below n), which is what lets subscribers resume by seq. The appended events may
   * only become visible at commit, even to this transaction.
   */
  appendEvent(event: NewEvent): Awaitable<void>;
  appendLog(itemId: string, attempt: number, at: number, message: string): Awaitable<void>;
  upsertExecutor(executor: ExecutorRecord): Awaitable<void>;
  touchExecutor(id: string, at: number): Awaitable<void>;
  /**
   * Items of these kinds became queued in this transaction: when it commits, wake up to
   * `count` idle claimers (of other processes too) that could take each kind. A backend
   * without cross-process wake-ups does nothing here.
   */
  announceWork(kinds: readonly WorkKind[]): Awaitable<void>;
}

/** See `StoreWrites.itemFence`. */
export type ItemFence = Pick<ItemRecord, 'status' | 'executorId' | 'leaseToken' | 'receiptSeq'>;

/** Newly queued items of one type, queue and capability set. */
export interface WorkKind {
  type: string;
  queue: string;
  capabilities: readonly string[];
  count: number;
}

/** A claimer that found no work and wants to be woken when some arrives. */
export interface WorkWaiter {
  id: string;
  types: readonly string[] | null;
  queues: readonly string[] | null;
  capabilities: readonly string[];
}

/**
 * Targeted wake-ups across processes (PostgreSQL: LISTEN/NOTIFY). An idle claimer
 * registers; a transaction that queues matching work wakes as many registered claimers
 * as it queued items, not all of them.
 */
export interface Wakeups {
  /** Registers `waiter` as idle for up to `ttlMs` (a registration nobody refreshes lapses). */
  idle(waiter: WorkWaiter, ttlMs: number): Promise<void>;
  /** Withdraws the registration (the claimer is full or stopping). */
  busy(waiterId: string): Promise<void>;
  /** Calls `fn` when a writer wakes `waiterId`; returns the matching unsubscribe. */
  onWake(waiterId: string, fn: () => void): () => void;
}

export type WriteTx = StoreReads & StoreWrites & WorkflowWrites & ServiceWrites;

export interface Store extends StoreReads {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in one write transaction: everything it writes commits together or not at
   * all. `now` is the transaction's time (epoch ms) from the store's clock: the process
   * clock for SQLite, the database server's clock for PostgreSQL, so that every process
   * compares leases and run times against one clock. A backend may run `fn` again after a
   * deadlock or a lost race (PostgreSQL), so `fn` must not keep state across calls.
   * SQLite runs one transaction at a time; PostgreSQL runs them concurrently, with row
   * locks taken by the reads made through `tx`.
   */
  write<T>(fn: (tx: WriteTx, now: number) => Promise<T>): Promise<T>;
  /** Cross-process wake-ups for idle claimers, when the backend has them. */
  readonly wakeups?: Wakeups | undefined;
  /**
   * A number that changes when any connection (another process included) commits; used
   * to wake idle workers and subscribers cheaply.
   */
  changeCounter(): Awaitable<number>;
  close(): Promise<void>;
}
