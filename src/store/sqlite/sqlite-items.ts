/**
 * @module sqlite-items
 * Item reads and writes on SQLite: insert, patch, claim candidates, expired leases and the
 * list/count queries. Statements are prepared once per connection.
 */
import type Database from 'better-sqlite3';
import { ConflictError } from '../../core/errors.js';
import type { ItemStatus } from '../../core/item-state.js';
import type { ClaimSpec, ItemFilter, ItemReads, ListPage, RenewedLeases, StoreWrites } from '../store.js';
import type { ItemPatch, ItemRecord, LeasePatch } from '../records.js';
import { pageOf } from '../paging.js';
import { compareClaimOrder, perTypeClaim } from '../claim-types.js';
import { createStatementCache } from './statement-cache.js';
import { PATCH_COLUMNS, toInsertParams, toItemRecord } from '../rows/item-rows.js';
import { createItemReadCache, ITEM_READ_COLUMNS, itemRowOf, prepareItemRead } from './item-reads.js';

type ItemWrites = Pick<
  StoreWrites,
  | 'insertItem'
  | 'lockItems'
  | 'itemFence'
  | 'countDownDependencies'
  | 'updateItem'
  | 'claimCandidates'
  | 'expiredItems'
  | 'renewLeases'
>;

/** Builds `WHERE` clauses for list/count filters (named parameters). */
function filterSql(filter: ItemFilter): { where: string[]; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.tenant !== undefined) {
    where.push('tenant = @tenant');
    params.tenant = filter.tenant;
  }
  if (filter.status !== undefined) {
    const statuses = Array.isArray(filter.status) ? filter.status : [filter.status];
    where.push('status IN (SELECT value FROM json_each(@statuses))');
    params.statuses = JSON.stringify(statuses);
  }
  if (filter.type !== undefined) {
    where.push('type = @type');
    params.type = filter.type;
  }
  if (filter.queue !== undefined) {
    where.push('queue = @queue');
    params.queue = filter.queue;
  }
  if (filter.workflowId !== undefined) {
    where.push('workflow_id = @workflowId');
    params.workflowId = filter.workflowId;
  }
  if (filter.executorId !== undefined) {
    where.push('executor_id = @executorId');
    params.executorId = filter.executorId;
  }
  return { where, params };
}

// The claim conditions besides status and type: queues and tenant (NULL for any), and the
// item's required capabilities all among @caps.
const CLAIMABLE_REST = `
  AND (@queues IS NULL OR queue IN (SELECT value FROM json_each(@queues)))
  AND (@tenant IS NULL OR tenant = @tenant)
  AND (required_caps = '[]' OR NOT EXISTS (
        SELECT 1 FROM json_each(items.required_caps) AS rc
        WHERE rc.value NOT IN (SELECT value FROM json_each(@caps))))`;

const CLAIMABLE_WHERE = `
  status = 'queued'
  AND (@types IS NULL OR type IN (SELECT value FROM json_each(@types)))${CLAIMABLE_REST}`;

export function createSqliteItems(db: Database.Database): ItemReads & ItemWrites {
  const cols = Object.keys(toInsertParams({} as never)).filter((c) => c !== 'seq');
  const insert = db.prepare(
    `INSERT INTO items (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`,
  );
  const insertDep = db.prepare('INSERT OR IGNORE INTO item_deps (item_id, depends_on_id) VALUES (?, ?)');
  // A fan-in step's edges in one statement, not one per parent (a gather of a thousand).
  const insertDeps = db.prepare(
    'INSERT OR IGNORE INTO item_deps (item_id, depends_on_id) SELECT ?, value FROM json_each(?)',
  );
  const byId = prepareItemRead<[string]>(db, 'FROM items WHERE id = ?');
  const byIds = prepareItemRead<[string]>(db, 'FROM items WHERE id IN (SELECT value FROM json_each(?))');
  const cached = createStatementCache(db);
  const cachedItems = createItemReadCache(db);
  const fence = db
    .prepare<[string], [ItemStatus, string | null, number, number]>(
      'SELECT status, executor_id, lease_token, receipt_seq FROM items WHERE id = ?',
    )
    .raw(true);
  const byKey = prepareItemRead<[string, string]>(db, 'FROM items WHERE tenant = ? AND idempotency_key = ?');
  // CROSS JOIN fixes the join order: from the edges of this one item, then its rows. Left to
  // itself the planner may start from every pending item (a map's waiting children, a big
  // DAG's later steps), which makes each completion cost O(pending).
  const dependents = db.prepare<[string], { item_id: string }>(
    `SELECT d.item_id FROM item_deps d CROSS JOIN items i ON i.id = d.item_id
      WHERE d.depends_on_id = ? AND i.status = 'pending' ORDER BY i.seq`,
  );
  // The whole row comes back: a child with nothing left is queued from it, not read again.
  // All the counted items in one statement ($1: JSON [[id, n], …]): a fan-out's root
  // counts down a thousand children at once.
  const countDown = db
    .prepare<[string], unknown[]>(
      `UPDATE items SET unfinished_deps = unfinished_deps - c.n
         FROM (SELECT value ->> 0 AS id, value ->> 1 AS n FROM json_each(?)) AS c
        WHERE items.id = c.id
        RETURNING ${ITEM_READ_COLUMNS.map((c) => `items.${c}`).join(', ')}`,
    )
    .raw(true);
  const activeForExecutor = db.prepare<[string], { n: number }>(
    `SELECT count(*) AS n FROM items INDEXED BY items_status
      WHERE status IN ('assigned', 'running') AND executor_id = ?`,
  );
  // Purpose: the next items a worker may take, in claim order (a worker for every type, or
  // one listing more types than claimOfType is worth running for; see claim-types.ts).
  // Params: @queues/@types (JSON arrays or NULL for any), @caps (JSON array), @now, @limit.
  // INDEXED BY: without statistics the planner prefers items_status and sorts every queued
  // row; the partial claim index is already in claim order, so a claim reads ~limit rows
  // plus the queued rows ahead of them it cannot take.
  const claim = prepareItemRead<[Record<string, unknown>]>(
    db,
    `FROM items INDEXED BY items_claim WHERE ${CLAIMABLE_WHERE} AND run_at <= @now
      ORDER BY priority DESC, run_at ASC, seq ASC LIMIT @limit + 0`,
  );
  // Purpose: the next items of one type @type a worker may take, in claim order (the claim
  // of a worker with a type list, one read per type, merged; see claim-types.ts).
  // Params: as `claim`, with @type instead of @types.
  // INDEXED BY: the type's run of items_claim_type is in claim order (SEARCH … (type=?)),
  // so the read costs ~limit rows however many queued items of other types there are.
  const claimOfType = prepareItemRead<[Record<string, unknown>]>(
    db,
    `FROM items INDEXED BY items_claim_type
      WHERE status = 'queued' AND type = @type${CLAIMABLE_REST} AND run_at <= @now
      ORDER BY priority DESC, run_at ASC, seq ASC LIMIT @limit + 0`,
  );
  // Purpose: when the earliest not-yet-due item becomes due, so an idle worker can sleep until then.
  const nextRun = db.prepare<Record<string, unknown>, { t: number | null }>(
    `SELECT min(run_at) AS t FROM items WHERE ${CLAIMABLE_WHERE}`,
  );
  // Purpose: as `nextRun`, for a worker with a type list (@types, a JSON array): reads only
  // those types' runs of items_claim_type (SEARCH … (type=?) per type), not every queued row.
  const nextRunOfTypes = db.prepare<Record<string, unknown>, { t: number | null }>(
    `SELECT min(run_at) AS t FROM items INDEXED BY items_claim_type
      WHERE status = 'queued' AND type IN (SELECT value FROM json_each(@types))${CLAIMABLE_REST}`,
  );
  // Purpose: leased items whose lease ran out or running items past their deadline.
  const expired = prepareItemRead<[{ now: number; limit: number }]>(
    db,
    `FROM items INDEXED BY items_status
      WHERE status IN ('assigned', 'running')
        AND (lease_expires_at < @now OR (deadline_at IS NOT NULL AND deadline_at < @now))
      ORDER BY seq LIMIT @limit + 0`,
  );
  const renew = db.prepare<{ id: string; token: number; executor: string; expires: number }>(
    `UPDATE items SET lease_expires_at = @expires
      WHERE id = @id AND lease_token = @token AND executor_id = @executor AND status IN ('assigned', 'running')`,
  );
  const updates = new Map<string, Database.Statement>();

  const claimParams = (spec: Omit<ClaimSpec, 'now' | 'limit'>) => ({
    queues: spec.queues ? JSON.stringify(spec.queues) : null,
    types: spec.types ? JSON.stringify(spec.types) : null,
    caps: JSON.stringify(spec.capabilities),
    tenant: spec.tenant ?? null,
  });

  return {
    getItem(id) {
      const row = byId.get(id);
      return row ? toItemRecord(row) : undefined;
    },
    getItems(ids) {
      if (ids.length === 0) return [];
      return byIds.all(JSON.stringify(ids)).map(toItemRecord);
    },
    findByIdempotencyKey(tenant, key) {
      const row = byKey.get(tenant, key);
      return row ? toItemRecord(row) : undefined;
    },
    listItems(filter: ItemFilter, page: ListPage) {
      const { where, params } = filterSql(filter);
      if (page.beforeSeq !== undefined) {
        where.push('seq < @beforeSeq');
        params.beforeSeq = page.beforeSeq;
      }
      params.limit = page.limit;
      const rest = `FROM items ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT @limit + 0`;
      const rows = cachedItems(rest).all(params);
      return pageOf(rows, page.limit, toItemRecord);
    },
    countByStatus(filter) {
      const { where, params } = filterSql(filter);
      const sql = `SELECT status, count(*) AS n FROM items ${where.length ? 'WHERE ' + where.join(' AND ') : ''} GROUP BY status`;
      const rows = cached<Record<string, unknown>, { status: ItemStatus; n: number }>(sql).all(params);
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
    queuedItems(filter, limit) {
      const { where, params } = filterSql({ ...filter, status: 'queued' });
      params.limit = limit;
      const rest = `FROM items WHERE ${where.join(' AND ')} ORDER BY priority DESC, run_at ASC, seq ASC LIMIT @limit + 0`;
      return cachedItems(rest).all(params).map(toItemRecord);
    },
    pendingDependents(id) {
      return dependents.all(id).map((r) => r.item_id);
    },
    countDownDependencies(counts) {
      const counted = new Map<string, ItemRecord>();
      if (counts.size === 0) return counted;
      for (const row of countDown.all(JSON.stringify([...counts]))) {
        const item = toItemRecord(itemRowOf(row));
        counted.set(item.id, item);
      }
      return counted;
    },
    activeCountForExecutor(executorId) {
      return activeForExecutor.get(executorId)?.n ?? 0;
    },
    nextRunAt(spec) {
      const params = claimParams(spec);
      return (params.types === null ? nextRun : nextRunOfTypes).get(params)?.t ?? null;
    },

    insertItem(item: ItemRecord) {
      try {
        insert.run(toInsertParams(item));
      } catch (e) {
        if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new ConflictError(`work item id ${JSON.stringify(item.id)} is taken`, {
            field: 'id',
            id: item.id,
          });
        }
        throw e;
      }
      const deps = item.dependencies;
      if (deps.length === 1) insertDep.run(item.id, deps[0]);
      else if (deps.length > 1) insertDeps.run(item.id, JSON.stringify(deps));
    },
    // BEGIN IMMEDIATE already holds the database: nothing to lock, nothing to read ahead.
    lockItems: () => undefined,
    itemFence(id) {
      const row = fence.get(id);
      return row && { status: row[0], executorId: row[1], leaseToken: row[2], receiptSeq: row[3] };
    },
    updateItem(id: string, patch: ItemPatch, lease?: LeasePatch) {
      // Positional parameters, one statement per patch shape: this runs twice per item.
      const keys = Object.keys(patch) as (keyof ItemPatch)[];
      const withToken = lease?.leaseToken !== undefined;
      const signature = `${keys.join(',')}|${lease ? (withToken ? 'tl' : 'l') : ''}`;
      let stmt = updates.get(signature);
      if (!stmt) {
        const sets = keys.map((k) => `${PATCH_COLUMNS[k].column} = ?`);
        if (withToken) sets.push('lease_token = ?');
        if (lease) sets.push('lease_expires_at = ?');
        stmt = db.prepare(`UPDATE items SET ${sets.join(', ')} WHERE id = ?`);
        updates.set(signature, stmt);
      }
      const params: unknown[] = keys.map((k) => PATCH_COLUMNS[k].encode(patch[k]));
      if (withToken) params.push(lease?.leaseToken);
      if (lease) params.push(lease.leaseExpiresAt);
      params.push(id);
      stmt.run(params);
    },
    claimCandidates(spec) {
      const { types, ...rest } = claimParams(spec);
      const params = { ...rest, now: spec.now, limit: spec.limit };
      const perType = perTypeClaim(spec.types);
      if (!perType) return claim.all({ ...params, types }).map(toItemRecord);
      // The first `limit` of each type, merged in claim order: the first `limit` of them all.
      // Same transaction, so the reads see one state of the queue.
      const rows = perType.flatMap((type) => claimOfType.all({ ...params, type }));
      if (perType.length > 1) rows.sort(compareClaimOrder);
      return rows.slice(0, spec.limit).map(toItemRecord);
    },
    expiredItems(now, limit) {
      return expired.all({ now, limit }).map(toItemRecord);
    },
    // One writer at a time: no row is ever locked by another transaction here.
    renewLeases(executorId, leases, expiresAt) {
      const result: RenewedLeases = { renewed: [], lost: [] };
      for (const l of leases) {
        const changed = renew.run({
          id: l.id,
          token: l.token,
          executor: executorId,
          expires: expiresAt,
        }).changes;
        (changed > 0 ? result.renewed : result.lost).push(l.id);
      }
      return result;
    },
  };
}
