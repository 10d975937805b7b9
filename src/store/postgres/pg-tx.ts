/**
 * @module pg-tx
 * One write transaction on PostgreSQL, shaped for round trips: on loopback a round trip
 * costs more than most of our statements, so writes whose result the engine does not need
 * (item inserts and updates, events with their receipts, logs, executor rows, wake-ups) are held back
 * and sent together, as one text of literal statements, in front of the next read or of
 * COMMIT. Rows the transaction has locked FOR UPDATE are kept with their pending changes
 * applied, so the engine's `getItem` on them costs nothing, and `lockItems` locks a whole
 * batch (and reads each item's pending dependents) in one round trip. Reads still see every earlier
 * write of the transaction: whatever is held back goes out first.
 *
 * The transaction's time comes from `PgClock` (the server's clock, without asking it), so
 * BEGIN needs no round trip of its own either: it goes out in front of the first text.
 *
 * Event seqs follow commit order: the advisory lock that serialises appends to the log is
 * taken in the same text as the INSERT and the COMMIT, so it is held for one round trip.
 */
import type pg from 'pg';
import { ConflictError } from '../../core/errors.js';
import type { ItemPatch, ItemRecord, LeasePatch, NewEvent } from '../records.js';
import { PATCH_COLUMNS, toItemRecord, type ItemRow } from '../rows/item-rows.js';
import { executorParams } from '../rows/log-rows.js';
import { toWorkflowRecord, WORKFLOW_COLUMNS, type WorkflowRow } from '../rows/workflow-rows.js';
import type { StoreWrites, WorkKind, WriteTx } from '../store.js';
import { createPgItemReads, createPgLockingReads } from './pg-items.js';
import { createPgReads } from './pg-records.js';
import { PgWorkflowTx } from './pg-workflow-tx.js';
import { createPgServiceReads, createPgServiceWrites } from './pg-service.js';
import { forgetPrepared, preparable, render, type Statement } from './pg-prepared.js';
import { isStalePlan, queryOn, sqlState, type Query } from './pg-sql.js';
import {
  appendEventsSql,
  insertItemsSql,
  updateColumnsSql,
  updateItemsSql,
  wakeSql,
} from './pg-write-sql.js';

// Purpose: lock a batch of items, in id order so two batches cannot deadlock.
// $1: item ids. Rows: the items.
const LOCK_ITEMS_SQL = preparable('SELECT * FROM items WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE');

// Purpose: the dependents still pending of a batch of items, which settling them needs next.
// Sent as a statement of its own after LOCK_ITEMS_SQL: under READ COMMITTED it then reads a
// snapshot taken after the locks were granted, so it sees a child that a transaction we
// waited for (an enqueue holding a parent FOR SHARE) committed; a subquery of the locking
// statement would not, and that child would wait forever.
// $1: item ids. Rows: (parent, child) in enqueue order of the children.
const PENDING_DEPENDENTS_SQL = preparable(`SELECT d.depends_on_id AS parent, d.item_id AS child
  FROM item_deps d JOIN items c ON c.id = d.item_id
 WHERE d.depends_on_id = ANY($1::text[]) AND c.status = 'pending' ORDER BY c.seq`);

// Purpose: lock the workflow rows of a batch's steps, in the order given (the caller's, the
// same as its one-by-one locks), right after the batch's items: the order every settle
// takes its locks in (items, workflows, then the items waiting on its own), at no round
// trip of its own. $1: workflow ids. Rows: the workflows.
const LOCK_WORKFLOWS_SQL = preparable(
  `SELECT ${WORKFLOW_COLUMNS.split(', ')
    .map((c) => `w.${c}`)
    .join(', ')}
     FROM unnest($1::text[]) WITH ORDINALITY AS k(id, n) JOIN workflows AS w ON w.id = k.id
    ORDER BY k.n FOR UPDATE OF w`,
);

// Purpose: counts locked dependents down by $2[k] for item $1[k] (see countDownDependencies).
const COUNT_DOWN_SQL = preparable(`UPDATE items SET unfinished_deps = unfinished_deps - d.n
  FROM unnest($1::text[], $2::int4[]) AS d(id, n) WHERE items.id = d.id`);

// Purpose: the check that stands in for LOCK_ITEMS_SQL when the caller knows the rows
// already (see `lockItems`): locks the rows, in id order, that are still as the caller
// knows them (running, same holder, token and receipt seq), and fails the transaction
// (division by zero: see FenceMissed) unless that is every one of them.
// $1 ids, $2 executors, $3 lease tokens, $4 receipt seqs, $5 how many.
const LOCK_KNOWN_SQL = preparable(`SELECT 1 / (count(*) = $5)::int FROM (
    SELECT 1 FROM items AS i
      JOIN unnest($1::text[], $2::text[], $3::int8[], $4::int4[]) AS k(id, executor_id, lease_token, receipt_seq)
        ON i.id = k.id
     WHERE i.status = 'running' AND i.executor_id = k.executor_id
       AND i.lease_token = k.lease_token AND i.receipt_seq = k.receipt_seq
     ORDER BY i.id FOR UPDATE OF i) AS held`);

// Purpose: fails the transaction (as LOCK_KNOWN_SQL) if any of the items has a pending
// dependent, which settling it would have to count down. A statement of its own after the
// locks, for the snapshot (see PENDING_DEPENDENTS_SQL). $1: item ids.
const NO_PENDING_DEPENDENTS_SQL = preparable(`SELECT 1 / (NOT EXISTS (
    SELECT 1 FROM item_deps d JOIN items c ON c.id = d.item_id
     WHERE d.depends_on_id = ANY($1::text[]) AND c.status = 'pending'))::int`);

/** Counts a store keeps of its transactions (for tests and benchmarks). */
export interface PgTxStats {
  /** Texts sent, each one round trip. */
  roundTrips: number;
  /** Transactions run again because rows taken as known were not (see `lockItems`). */
  fenceMissed: number;
}

/**
 * The rows a transaction took as the caller knew them (`lockItems` with `known`) were not
 * all as known, or one has a dependent to count down: nothing was committed, and the
 * transaction must run again reading the rows (PgStore does).
 */
export class FenceMissed extends Error {
  constructor() {
    super('an item was not as its holder knew it; the transaction runs again reading it');
  }
}

export class PgTx {
  private readonly query: Query;
  /** BEGIN goes out with the first statement, not in a round trip of its own. */
  private begun = false;
  /** Held-back statements, in the order they were made. */
  private statements: Statement[] = [];
  /** New items not sent yet; their state (final so far) is in `locked`. */
  private inserted = new Set<string>();
  /** Items changed and not sent yet whose whole new state is in `locked`. */
  private dirty = new Set<string>();
  /** Changes to items this transaction has not read (rare): id → column → stored value. */
  private partial = new Map<string, Map<string, unknown>>();
  private events: NewEvent[] = [];
  private wake: WorkKind[] = [];
  /** Rows this transaction holds FOR UPDATE, as they will be at commit. */
  private readonly locked = new Map<string, ItemRecord>();
  /** The same rows as they are stored now (what `locked` sends its changes against). */
  private readonly stored = new Map<string, ItemRecord>();
  /** Pending dependents of locked items, read when they were locked. */
  private readonly dependents = new Map<string, string[]>();

  private readonly workflows: PgWorkflowTx;

  /** A fence check (LOCK_KNOWN_SQL) is among the statements sent and not yet committed. */
  private fenced = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly now: number,
    private readonly eventLockKey: string,
    /** Whether `lockItems` may take rows as the caller knows them (off for a run again). */
    private readonly trustKnown: boolean,
    private readonly stats: PgTxStats,
  ) {
    this.query = queryOn(client);
    this.workflows = new PgWorkflowTx(this.read, (sql) => void this.statements.push(sql));
  }

  /** The transaction as the engine sees it. */
  view(): WriteTx {
    const read = this.read;
    const reads = { ...createPgItemReads(read, true), ...createPgReads(read) };
    const locking = createPgLockingReads(read);
    const getItem = async (id: string) => {
      const held = this.locked.get(id);
      if (held) return held;
      const item = await reads.getItem(id);
      if (item) this.keep(item);
      return item;
    };
    return {
      ...reads,
      ...this.workflows.view(),
      ...createPgServiceReads(read),
      ...createPgServiceWrites((sql) => void this.statements.push(sql)),
      getItem,
      pendingDependents: async (id) => this.dependents.get(id) ?? reads.pendingDependents(id),
      // The row itself, locked (a settle batch locked it already: no round trip).
      itemFence: getItem,
      lockItems: async (ids, known, workflowsOf) => {
        const wanted = ids.filter((id) => !this.locked.has(id));
        if (wanted.length > 0 && this.takeKnown(wanted, known)) return;
        if (wanted.length > 0) {
          // The workflows the caller locks next, locked in the same text (after the items,
          // in its order), not one round trip each.
          const workflowIds = (workflowsOf ?? []).filter((w) => !this.workflows.holds(w));
          const reads: Statement[] = [{ text: LOCK_ITEMS_SQL, values: [wanted] }];
          if (workflowIds.length > 0) reads.push({ text: LOCK_WORKFLOWS_SQL, values: [workflowIds] });
          reads.push({ text: PENDING_DEPENDENTS_SQL, values: [wanted] });
          const results = await this.readAll(reads);
          const rows = results[0]!;
          const edges = results.at(-1)!;
          if (workflowIds.length > 0)
            this.workflows.hold((results[1] as WorkflowRow[]).map(toWorkflowRecord));
          for (const row of rows as ItemRow[]) {
            this.keep(toItemRecord(row));
            this.dependents.set(row.id, []);
          }
          for (const e of edges as Array<{ parent: string; child: string }>)
            this.dependents.get(e.parent)?.push(e.child);
        }
      },
      claimCandidates: async (spec) => {
        // The claim must walk items_claim (or, with a type list, each type's run of
        // items_claim_type, merged) in order and stop after `limit` rows, whatever the
        // depth. A planner without fresh statistics (a new or fast-changing table) would
        // rather fetch every queued row and sort: O(depth) per claim; a per-type arm, which
        // is planned to read all its rows, might with fresh ones. The settings are for
        // the claim alone: the next text turns them back on before anything else runs (with
        // them off, other statements can get plans hundreds of times slower).
        this.statements.push('SET LOCAL enable_bitmapscan = off', 'SET LOCAL enable_sort = off');
        const found = await locking.claimCandidates(spec);
        this.statements.push('SET LOCAL enable_bitmapscan = on', 'SET LOCAL enable_sort = on');
        return this.hold(found);
      },
      expiredItems: async (now, limit) => this.hold(await locking.expiredItems(now, limit)),
      countDownDependencies: async (counts) => {
        // The caller locked the rows (lockItems), so the held counts are the stored ones:
        // the new counts are known here, and their UPDATE waits for the next text.
        if ([...counts.keys()].every((id) => this.locked.has(id))) {
          const counted = new Map<string, ItemRecord>();
          for (const [id, n] of counts) {
            const held = this.locked.get(id)!;
            const now = { ...held, unfinishedDeps: held.unfinishedDeps - n };
            this.locked.set(id, now);
            counted.set(id, now);
          }
          this.statements.push({ text: COUNT_DOWN_SQL, values: [[...counts.keys()], [...counts.values()]] });
          return counted;
        }
        const left = await locking.countDownDependencies(counts);
        const counted = new Map<string, ItemRecord>();
        for (const [id, n] of left) {
          // The caller locked these rows, so they are held: the held record is the newer one
          // (its changes go out at commit). One that is not is read (it then is).
          let held = this.locked.get(id);
          if (!held) {
            held = await reads.getItem(id);
            if (!held) continue;
            this.keep(held);
          }
          const now = { ...held, unfinishedDeps: n };
          this.locked.set(id, now);
          counted.set(id, now);
        }
        return counted;
      },
      renewLeases: async (executorId, leases, expiresAt) => {
        const renewed = await locking.renewLeases(executorId, leases, expiresAt);
        for (const id of renewed.renewed) {
          const held = this.locked.get(id);
          if (held) this.locked.set(id, { ...held, leaseExpiresAt: expiresAt });
          const stored = this.stored.get(id);
          if (stored) this.stored.set(id, { ...stored, leaseExpiresAt: expiresAt });
        }
        return renewed;
      },
      ...this.writes(),
      announceWork: (kinds) => void this.wake.push(...kinds),
    };
  }

  /**
   * Takes the rows as the caller knows them, without reading them, when it knows every one
   * and each is a running item outside any workflow (whose steps have dependents to count
   * down): the check that they still are, and the locks, go out in front of the next text
   * (LOCK_KNOWN_SQL, NO_PENDING_DEPENDENTS_SQL), and the transaction fails before COMMIT if
   * they are not. One round trip less for a worker's batch of completions.
   */
  private takeKnown(ids: string[], known: ReadonlyMap<string, ItemRecord> | undefined): boolean {
    if (!this.trustKnown || !known) return false;
    const items = ids.map((id) => known.get(id));
    if (!items.every((i) => i?.status === 'running' && i.workflowId === null && i.executorId !== null))
      return false;
    const held = items as ItemRecord[];
    for (const item of held) {
      this.keep(item);
      this.dependents.set(item.id, []);
    }
    this.statements.push(
      {
        text: LOCK_KNOWN_SQL,
        values: [
          ids,
          held.map((i) => i.executorId),
          held.map((i) => i.leaseToken),
          held.map((i) => i.receiptSeq),
          ids.length,
        ],
      },
      { text: NO_PENDING_DEPENDENTS_SQL, values: [ids] },
    );
    this.fenced = true;
    return true;
  }

  private hold(items: ItemRecord[]): ItemRecord[] {
    for (const item of items) this.keep(item);
    return items;
  }

  /** A row this transaction now holds, as stored. */
  private keep(item: ItemRecord): void {
    this.locked.set(item.id, item);
    this.stored.set(item.id, item);
  }

  private writes(): Omit<
    StoreWrites,
    | 'lockItems'
    | 'itemFence'
    | 'claimCandidates'
    | 'expiredItems'
    | 'renewLeases'
    | 'announceWork'
    | 'countDownDependencies'
  > {
    const defer = (text: string, values: readonly unknown[]) => void this.statements.push({ text, values });
    return {
      insertItem: (item) => {
        this.inserted.add(item.id);
        this.locked.set(item.id, item);
        for (const parent of item.dependencies) this.dependents.delete(parent);
      },
      updateItem: (id: string, patch: ItemPatch, lease?: LeasePatch) => {
        const held = this.locked.get(id);
        if (held) {
          // The whole new state is known: it is sent once, however often it changed.
          this.locked.set(id, { ...held, ...patch, ...lease });
          if (!this.inserted.has(id)) this.dirty.add(id);
          return;
        }
        // Every update sets columns to values (never to expressions of the row), so two
        // updates of one item merge into one with the later values winning.
        let columns = this.partial.get(id);
        if (!columns) this.partial.set(id, (columns = new Map<string, unknown>()));
        for (const k of Object.keys(patch) as (keyof ItemPatch)[])
          columns.set(PATCH_COLUMNS[k].column, PATCH_COLUMNS[k].encode(patch[k]));
        if (lease?.leaseToken !== undefined) columns.set('lease_token', lease.leaseToken);
        if (lease) columns.set('lease_expires_at', lease.leaseExpiresAt);
      },
      appendEvent: (e) => void this.events.push(e),
      appendLog: (itemId, attempt, at, message) =>
        defer('INSERT INTO item_logs (item_id, attempt, at, message) VALUES ($1, $2, $3, $4)', [
          itemId,
          attempt,
          at,
          message,
        ]),
      upsertExecutor: (e) => {
        const p = executorParams(e);
        defer(
          `INSERT INTO executors (id, capabilities, concurrency, busy, registered_at, last_seen_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET capabilities = excluded.capabilities,
             concurrency = excluded.concurrency, busy = excluded.busy, last_seen_at = excluded.last_seen_at`,
          [p.id, p.capabilities, p.concurrency, p.busy, p.registered_at, p.last_seen_at],
        );
      },
      touchExecutor: (id, at) =>
        defer('UPDATE executors SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2', [id, at]),
    };
  }

  /** Runs a read behind everything held back, in one round trip; returns the read's rows. */
  private readonly read: Query = async <R>(text: string, values: readonly unknown[] = []) => {
    const held = this.takeHeld(false);
    if (held.length === 0 && this.begun) {
      this.stats.roundTrips++;
      return this.query<R>(text, values);
    }
    const results = await this.send([...held, { text, values }]);
    return results.at(-1)!.rows as R[];
  };

  /** Runs several reads behind everything held back, in one round trip; returns their rows. */
  private async readAll(reads: Statement[]): Promise<unknown[][]> {
    const results = await this.send([...this.takeHeld(false), ...reads]);
    return results.slice(-reads.length).map((r) => r.rows as unknown[]);
  }

  /** Sends everything held back and commits, in one round trip. */
  async commit(): Promise<void> {
    const held = this.takeHeld(true);
    if (!this.begun && held.length === 0) return; // nothing was read or written
    await this.send([...held, 'COMMIT']);
  }

  /**
   * The held-back writes as literal statements, in an order that keeps their meaning: the
   * rare ones (logs, executor rows, changes to rows never read), new items, changed items
   * (one UPDATE for all of them), and at commit the wake-ups and the events (with the
   * receipts of their transitions) under the log lock, last, so that lock is held only
   * until COMMIT.
   */
  private takeHeld(withEvents: boolean): Statement[] {
    const out = [...this.statements, ...this.workflows.takeHeld()];
    for (const [id, columns] of this.partial) out.push(updateColumnsSql(id, columns));
    const stateOf = (id: string) => this.locked.get(id)!;
    if (this.inserted.size > 0) {
      out.push(...insertItemsSql([...this.inserted].map(stateOf)));
      for (const id of this.inserted) this.stored.set(id, stateOf(id));
    }
    if (this.dirty.size > 0) {
      const update = updateItemsSql(
        [...this.dirty].map((id) => ({ now: stateOf(id), stored: this.stored.get(id) })),
      );
      if (update) out.push(update);
      // Once this text runs, the rows are stored as they are now.
      for (const id of this.dirty) this.stored.set(id, stateOf(id));
    }
    this.statements = [];
    this.partial.clear();
    this.inserted = new Set();
    this.dirty = new Set();
    if (!withEvents) return out;
    for (const kind of this.wake) out.push(wakeSql(kind, this.now));
    if (this.events.length > 0) out.push(...appendEventsSql(this.events, this.eventLockKey));
    this.wake = [];
    this.events = [];
    return out;
  }

  /**
   * Sends statements as one text; the first one sent also opens the transaction. Prepared
   * statements the connection lacks are prepared first (see pg-prepared.ts); results are
   * read from the end, so those extra results in front change nothing.
   */
  private async send(statements: Statement[]): Promise<pg.QueryResult[]> {
    const rendered = render(this.client, statements);
    const text = [...rendered.prepares, ...rendered.statements];
    if (!this.begun) {
      text.unshift('BEGIN');
      this.begun = true;
    }
    this.stats.roundTrips++;
    try {
      const result = (await this.client.query(text.join(';\n'))) as unknown as
        pg.QueryResult | pg.QueryResult[];
      rendered.ran();
      return Array.isArray(result) ? result : [result];
    } catch (e) {
      rendered.failed();
      if (isStalePlan(e)) forgetPrepared(this.client);
      // Nothing else we send divides: a division by zero is a fence check's.
      if (this.fenced && sqlState(e) === '22012') throw new FenceMissed();
      // A taken id is the caller's mistake, reported as for a single INSERT.
      if (sqlState(e) === '23505' && (e as { constraint?: string }).constraint === 'items_id_key') {
        const id = /\(id\)=\((.*)\)/.exec((e as { detail?: string }).detail ?? '')?.[1] ?? '';
        throw new ConflictError(`work item id ${JSON.stringify(id)} is taken`, { field: 'id', id });
      }
      throw e;
    }
  }
}
