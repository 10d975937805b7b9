/**
 * @module pg-items
 * Item queries on PostgreSQL. The same reads serve outside a transaction (pool, no locks)
 * and inside one (`locking`): there `getItem` locks the row FOR UPDATE and `getItems` FOR
 * SHARE, so the engine's read-check-write holds against other processes, and claims and
 * the reaper skip rows another transaction holds. Item writes are made by `PgTx`.
 */
import type { ItemStatus } from '../../core/item-state.js';
import { toItemRecord, type ItemRow } from '../rows/item-rows.js';
import type { ClaimSpec, ItemFilter, ItemReads, StoreWrites } from '../store.js';
import { pageOf } from '../paging.js';
import { perTypeClaim } from '../claim-types.js';
import { preparable } from './pg-prepared.js';
import type { Query } from './pg-sql.js';

/** `WHERE` clauses for list/count filters, with positional parameters from `values`. */
function filterSql(filter: ItemFilter, values: unknown[]): string[] {
  const where: string[] = [];
  const add = (clause: (p: string) => string, v: unknown) => {
    values.push(v);
    where.push(clause(`$${values.length}`));
  };
  if (filter.tenant !== undefined) add((p) => `tenant = ${p}`, filter.tenant);
  if (filter.status !== undefined)
    add((p) => `status = ANY(${p}::text[])`, Array.isArray(filter.status) ? filter.status : [filter.status]);
  if (filter.type !== undefined) add((p) => `type = ${p}`, filter.type);
  if (filter.queue !== undefined) add((p) => `queue = ${p}`, filter.queue);
  if (filter.workflowId !== undefined) add((p) => `workflow_id = ${p}`, filter.workflowId);
  if (filter.executorId !== undefined) add((p) => `executor_id = ${p}`, filter.executorId);
  return where;
}

// $1 queues (text[] or NULL for any), $2 types (same), $3 capabilities (JSON array text),
// $4 tenant (NULL for any). CLAIMABLE_REST: the conditions besides status and type.
const CLAIMABLE_REST = `
  AND ($1::text[] IS NULL OR queue = ANY($1::text[]))
  AND (required_caps = '[]' OR required_caps::jsonb <@ $3::jsonb)
  AND ($4::text IS NULL OR tenant = $4::text)`;

const CLAIMABLE_WHERE = `
  status = 'queued'
  AND ($2::text[] IS NULL OR type = ANY($2::text[]))${CLAIMABLE_REST}`;

/**
 * Purpose: the claim of a claimer with a list of `n` types: the next items it may take, in
 * claim order, locked for this transaction, skipping (not waiting for) rows another holds.
 * $1–$4 as CLAIMABLE_WHERE, $2 holding the `n` distinct types; $5 now; $6 limit.
 * Each type's arm reads its run of items_claim_type, already in claim order; Merge Append
 * merges the arms lazily into the global claim order (the arms' ORDER BY is what gives it
 * ordered inputs); each candidate is then locked on its own, FOR UPDATE SKIP LOCKED, and the
 * LIMIT stops the walk at `limit` rows locked. So exactly as the one-index claim: the
 * first `limit` claimable rows nobody else holds, only those locked; the lock re-checks
 * every condition on the row's newest version (READ COMMITTED), as a locking scan does.
 * The lock finds its row by the address the arm read (`ctid`, a direct fetch), not by
 * `seq`: for `seq = c.seq` the planner may pick the claim-by-type index (seq is its last
 * column), and every locked row then cost a walk of the type's run (a 20,000-item drain
 * locked 80 rows in 17 ms instead of 0.3). A row updated since the arm read it is
 * followed to its newest version, whose conditions the lock re-checks, as above. Relies on
 * enable_sort = off (PgTx sets it for claims): an arm planned on its own expects to read all
 * of its rows and, with fresh statistics, might rather sort them than read the index.
 */
function claimOfTypesSql(n: number): string {
  const arms = Array.from(
    { length: n },
    (_, k) => `(SELECT ctid AS tid, seq, priority, run_at FROM items
        WHERE status = 'queued' AND type = ($2::text[])[${k + 1}]${CLAIMABLE_REST} AND run_at <= $5
        ORDER BY priority DESC, run_at ASC, seq ASC)`,
  );
  return `SELECT i.* FROM (${arms.join('\n      UNION ALL ')}) AS c
    CROSS JOIN LATERAL (
      SELECT * FROM items WHERE ctid = c.tid AND ${CLAIMABLE_WHERE} AND run_at <= $5
        FOR UPDATE SKIP LOCKED) AS i
    ORDER BY c.priority DESC, c.run_at ASC, c.seq ASC LIMIT $6`;
}
/** The statement texts by number of types (fixed texts, so each is prepared once). */
const claimOfTypes: string[] = [];
const claimOfTypesText = (n: number) => (claimOfTypes[n] ??= preparable(claimOfTypesSql(n)));

// Purpose: the claim of a claimer of any type (or of more types than are read one by one):
// a walk of items_claim in claim order, locking what it takes, skipping what others hold.
// $1–$4 as CLAIMABLE_WHERE; $5 now; $6 limit.
const CLAIM_ANY_SQL = preparable(`SELECT * FROM items WHERE ${CLAIMABLE_WHERE} AND run_at <= $5
  ORDER BY priority DESC, run_at ASC, seq ASC LIMIT $6 FOR UPDATE SKIP LOCKED`);

// Purpose: as the nextRunAt of a claimer with a type list ($2 not NULL): an index condition
// on items_claim_type that a generic plan keeps, instead of the `$2 IS NULL OR` of
// CLAIMABLE_WHERE, which only a custom plan can fold away.
const NEXT_RUN_OF_TYPES_SQL = `SELECT min(run_at) AS t FROM items
  WHERE status = 'queued' AND type = ANY($2::text[])${CLAIMABLE_REST}`;

const claimParams = (spec: Omit<ClaimSpec, 'now' | 'limit'>) => [
  spec.queues ? [...spec.queues] : null,
  spec.types ? [...spec.types] : null,
  JSON.stringify(spec.capabilities),
  spec.tenant ?? null,
];

/** Item reads; with `locking` (inside a write transaction) `getItem` locks FOR UPDATE, `getItems` FOR SHARE. */
export function createPgItemReads(query: Query, locking: boolean): ItemReads {
  const rows = async (text: string, values: unknown[]) =>
    (await query<ItemRow>(text, values)).map(toItemRecord);

  return {
    async getItem(id) {
      const [row] = await query<ItemRow>(`SELECT * FROM items WHERE id = $1${locking ? ' FOR UPDATE' : ''}`, [
        id,
      ]);
      return row ? toItemRecord(row) : undefined;
    },
    async getItems(ids) {
      if (ids.length === 0) return [];
      // In id order, so two transactions share-locking overlapping sets cannot deadlock.
      return rows(
        `SELECT * FROM items WHERE id = ANY($1::text[]) ORDER BY id${locking ? ' FOR SHARE' : ''}`,
        [[...ids]],
      );
    },
    async findByIdempotencyKey(tenant, key) {
      const [row] = await query<ItemRow>('SELECT * FROM items WHERE tenant = $1 AND idempotency_key = $2', [
        tenant,
        key,
      ]);
      return row ? toItemRecord(row) : undefined;
    },
    async listItems(filter, page) {
      const values: unknown[] = [];
      const where = filterSql(filter, values);
      if (page.beforeSeq !== undefined) {
        values.push(page.beforeSeq);
        where.push(`seq < $${values.length}`);
      }
      values.push(page.limit);
      const found = await query<ItemRow>(
        `SELECT * FROM items ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
          ORDER BY seq DESC LIMIT $${values.length}`,
        values,
      );
      return pageOf(found, page.limit, toItemRecord);
    },
    async countByStatus(filter) {
      const values: unknown[] = [];
      const where = filterSql(filter, values);
      const found = await query<{ status: ItemStatus; n: number }>(
        `SELECT status, count(*) AS n FROM items ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
          GROUP BY status`,
        values,
      );
      return Object.fromEntries(found.map((r) => [r.status, r.n]));
    },
    queuedItems(filter, limit) {
      const values: unknown[] = [];
      const where = filterSql({ ...filter, status: 'queued' }, values);
      values.push(limit);
      return rows(
        `SELECT * FROM items WHERE ${where.join(' AND ')}
          ORDER BY priority DESC, run_at ASC, seq ASC LIMIT $${values.length}`,
        values,
      );
    },
    async pendingDependents(id) {
      const found = await query<{ item_id: string }>(
        `SELECT d.item_id FROM item_deps d JOIN items i ON i.id = d.item_id
          WHERE d.depends_on_id = $1 AND i.status = 'pending' ORDER BY i.seq`,
        [id],
      );
      return found.map((r) => r.item_id);
    },
    async activeCountForExecutor(executorId) {
      const [row] = await query<{ n: number }>(
        `SELECT count(*) AS n FROM items WHERE status IN ('assigned', 'running') AND executor_id = $1`,
        [executorId],
      );
      return row?.n ?? 0;
    },
    async nextRunAt(spec) {
      const [row] = await query<{ t: number | null }>(
        spec.types ? NEXT_RUN_OF_TYPES_SQL : `SELECT min(run_at) AS t FROM items WHERE ${CLAIMABLE_WHERE}`,
        claimParams(spec),
      );
      return row?.t ?? null;
    },
  };
}

/**
 * The queries a write transaction makes to lock rows for a claim, the reaper or a
 * heartbeat; they only run inside one (see `PgTx`).
 */
export function createPgLockingReads(query: Query): Pick<
  StoreWrites,
  'claimCandidates' | 'expiredItems' | 'renewLeases'
> & {
  countDownDependencies(counts: ReadonlyMap<string, number>): Promise<Map<string, number>>;
} {
  const rows = async (text: string, values: unknown[]) =>
    (await query<ItemRow>(text, values)).map(toItemRecord);
  return {
    // Purpose: the next items a worker may take, in claim order, locked for this transaction;
    // rows another claimer holds are skipped, not waited for. With a type list, one ordered
    // read per type, merged (claimOfTypesSql); else a walk of items_claim in order.
    claimCandidates(spec) {
      const perType = perTypeClaim(spec.types);
      if (perType)
        return rows(claimOfTypesText(perType.length), [
          ...claimParams({ ...spec, types: perType }),
          spec.now,
          spec.limit,
        ]);
      return rows(CLAIM_ANY_SQL, [...claimParams(spec), spec.now, spec.limit]);
    },
    // Purpose: leased items whose lease ran out or running items past their deadline; a row
    // being settled right now is skipped (its holder is alive after all).
    expiredItems(now, limit) {
      return rows(
        `SELECT * FROM items
          WHERE status IN ('assigned', 'running')
            AND (lease_expires_at < $1 OR (deadline_at IS NOT NULL AND deadline_at < $1))
          ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [now, limit],
      );
    },
    // The counts left, by id; the transaction already holds these rows (lockItems) and
    // makes the new records from them.
    async countDownDependencies(counts) {
      if (counts.size === 0) return new Map<string, number>();
      const rows = await query<{ id: string; n: number }>(
        `UPDATE items SET unfinished_deps = unfinished_deps - d.n
          FROM unnest($1::text[], $2::int[]) AS d(id, n) WHERE items.id = d.id
          RETURNING items.id, unfinished_deps AS n`,
        [[...counts.keys()], [...counts.values()]],
      );
      return new Map(rows.map((r) => [r.id, r.n]));
    },
    // Purpose: one statement renews what is still ours and names what is not. Rows another
    // transaction holds are skipped, not waited for: a holder's result may be queued behind
    // a busy workflow row for longer than a lease, and waiting on it would let every other
    // lease of the worker run out meanwhile. A missing row counts as lost.
    async renewLeases(executorId, leases, expiresAt) {
      if (leases.length === 0) return { renewed: [], lost: [] };
      const rows = await query<{ id: string; renewed: boolean }>(
        `WITH l AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS l(id, token)),
              free AS (SELECT i.id, i.lease_token, i.executor_id, i.status FROM items AS i
                        WHERE i.id = ANY($1::text[]) FOR UPDATE SKIP LOCKED),
              moved AS (UPDATE items AS i SET lease_expires_at = $3
                          FROM free JOIN l ON l.id = free.id
                         WHERE i.id = free.id AND free.lease_token = l.token
                           AND free.executor_id = $4 AND free.status IN ('assigned', 'running')
                        RETURNING i.id)
         SELECT id, true AS renewed FROM moved
         UNION ALL
         SELECT l.id, false FROM l
          WHERE l.id NOT IN (SELECT id FROM moved)
            AND (l.id IN (SELECT id FROM free) OR NOT EXISTS (SELECT 1 FROM items WHERE id = l.id))`,
        [leases.map((l) => l.id), leases.map((l) => l.token), expiresAt, executorId],
      );
      return {
        renewed: rows.filter((r) => r.renewed).map((r) => r.id),
        lost: rows.filter((r) => !r.renewed).map((r) => r.id),
      };
    },
  };
}
