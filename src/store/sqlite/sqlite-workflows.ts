/**
 * @module sqlite-workflows
 * Workflow rows, the events sent to workflows, and the shared state of the resilience
 * policies (token buckets, circuit breakers, the step cache) on SQLite. Write transactions
 * exclude each other, so a read inside one needs no lock.
 */
import type Database from 'better-sqlite3';
import { ConflictError } from '../../core/errors.js';
import type { JsonValue } from '../../core/types.js';
import type { EventRecord } from '../records.js';
import { toItemRecord, toStepOutcome, type ItemRow } from '../rows/item-rows.js';
import { EVENT_SELECT, toEvent, type EventRow } from '../rows/log-rows.js';
import {
  toBreaker,
  toSignal,
  toWorkflowParams,
  toWorkflowRecord,
  WORKFLOW_COLUMNS,
  WORKFLOW_PATCH_COLUMNS,
  type BreakerRow,
  type SignalRow,
  type WorkflowRow,
} from '../rows/workflow-rows.js';
import type { ListPage, WorkflowReads, WorkflowWrites } from '../store.js';
import type { WorkflowFilter, WorkflowPatch } from '../workflow-records.js';
import { pageOf } from '../paging.js';
import { createStatementCache } from './statement-cache.js';
import { prepareItemRead } from './item-reads.js';

export function createSqliteWorkflows(db: Database.Database): WorkflowReads & WorkflowWrites {
  const cols = Object.keys(toWorkflowParams({} as never, null));
  const insert = db.prepare(
    `INSERT INTO workflows (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`,
  );
  const byId = db.prepare<[string], WorkflowRow>(`SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE id = ?`);
  const specOf = db.prepare<[string], { definition: string; input: string }>(
    'SELECT definition, input FROM workflows WHERE id = ?',
  );
  const byKey = db.prepare<[string, string], WorkflowRow>(
    `SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE tenant = ? AND idempotency_key = ?`,
  );
  // A run's steps (not map children), in creation order: whole, or what became of them.
  const STEP_ROWS = 'FROM items WHERE workflow_id = ? AND map_index IS NULL ORDER BY seq';
  const steps = prepareItemRead<[string]>(db, STEP_ROWS);
  const outcomes = db.prepare<[string], Pick<ItemRow, 'step_id' | 'status' | 'output' | 'error'>>(
    `SELECT step_id, status, output, error ${STEP_ROWS}`,
  );
  const children = prepareItemRead<[string, string]>(
    db,
    'FROM items WHERE workflow_id = ? AND step_id = ? AND map_index IS NOT NULL ORDER BY map_index',
  );
  const signal = db.prepare<[string, string], SignalRow>(
    'SELECT * FROM workflow_signals WHERE workflow_id = ? AND name = ? ORDER BY seq LIMIT 1',
  );
  const insertSignal = db.prepare(
    `INSERT INTO workflow_signals (id, workflow_id, name, payload, received_at)
     VALUES (@id, @workflowId, @name, @payload, @receivedAt)`,
  );
  const events = db.prepare<[number, number], EventRow>(
    `SELECT ${EVENT_SELECT} FROM events WHERE seq > ? AND item_id IS NULL AND workflow_id IS NOT NULL ORDER BY seq LIMIT ? + 0`,
  );
  const bucket = db.prepare<[string], { key: string; tokens: number; updated_at: number }>(
    'SELECT * FROM rate_limits WHERE key = ?',
  );
  const putBucket = db.prepare(
    `INSERT INTO rate_limits (key, tokens, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
  );
  const breaker = db.prepare<[string], BreakerRow>('SELECT * FROM circuit_breakers WHERE key = ?');
  const putBreaker = db.prepare(
    `INSERT INTO circuit_breakers (key, state, failures, opened_at, trial_item_id, updated_at)
     VALUES (@key, @state, @failures, @openedAt, @trialItemId, @updatedAt)
     ON CONFLICT (key) DO UPDATE SET state = excluded.state, failures = excluded.failures,
       opened_at = excluded.opened_at, trial_item_id = excluded.trial_item_id, updated_at = excluded.updated_at`,
  );
  const cachedOutput = db.prepare<[string, number], { output: string; expires_at: number }>(
    'SELECT output, expires_at FROM step_cache WHERE key = ? AND expires_at > ?',
  );
  const putCache = db.prepare(
    `INSERT INTO step_cache (key, output, expires_at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET output = excluded.output, expires_at = excluded.expires_at`,
  );
  const updates = new Map<string, Database.Statement>();
  const cached = createStatementCache(db);

  return {
    getWorkflow(id) {
      const row = byId.get(id);
      return row ? toWorkflowRecord(row) : undefined;
    },
    workflowSpec(id) {
      const row = specOf.get(id);
      if (!row) return undefined;
      return {
        definition: JSON.parse(row.definition) as JsonValue,
        input: JSON.parse(row.input) as JsonValue,
      };
    },
    findWorkflowByIdempotencyKey(tenant, key) {
      const row = byKey.get(tenant, key);
      return row ? toWorkflowRecord(row) : undefined;
    },
    listWorkflows(filter: WorkflowFilter, page: ListPage) {
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: page.limit };
      if (filter.tenant !== undefined) {
        where.push('tenant = @tenant');
        params.tenant = filter.tenant;
      }
      if (filter.name !== undefined) {
        where.push('name = @name');
        params.name = filter.name;
      }
      if (filter.status !== undefined) {
        where.push('status IN (SELECT value FROM json_each(@statuses))');
        params.statuses = JSON.stringify(Array.isArray(filter.status) ? filter.status : [filter.status]);
      }
      if (page.beforeSeq !== undefined) {
        where.push('seq < @beforeSeq');
        params.beforeSeq = page.beforeSeq;
      }
      const sql = `SELECT ${WORKFLOW_COLUMNS} FROM workflows ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT @limit + 0`;
      const rows = cached<Record<string, unknown>, WorkflowRow>(sql).all(params);
      return pageOf(rows, page.limit, toWorkflowRecord);
    },
    workflowSteps: (workflowId) => steps.all(workflowId).map(toItemRecord),
    workflowOutcomes: (workflowId) => outcomes.all(workflowId).map(toStepOutcome),
    mapChildren: (workflowId, stepId) => children.all(workflowId, stepId).map(toItemRecord),
    firstSignal(workflowId, name) {
      const row = signal.get(workflowId, name);
      return row ? toSignal(row) : undefined;
    },
    workflowEvents: (afterSeq, limit): EventRecord[] => events.all(afterSeq, limit).map(toEvent),

    insertWorkflow(w, spec) {
      try {
        insert.run(toWorkflowParams(w, spec));
      } catch (e) {
        if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
          throw new ConflictError(`workflow id ${JSON.stringify(w.id)} is taken`, { field: 'id', id: w.id });
        throw e;
      }
    },
    updateWorkflow(id: string, patch: WorkflowPatch) {
      const keys = Object.keys(patch) as (keyof WorkflowPatch)[];
      const signature = keys.join(',');
      let stmt = updates.get(signature);
      if (!stmt) {
        const sets = keys.map((k) => `${WORKFLOW_PATCH_COLUMNS[k].column} = ?`);
        stmt = db.prepare(`UPDATE workflows SET ${sets.join(', ')} WHERE id = ?`);
        updates.set(signature, stmt);
      }
      stmt.run([...keys.map((k) => WORKFLOW_PATCH_COLUMNS[k].encode(patch[k])), id]);
    },
    insertSignal(s) {
      insertSignal.run({ ...s, payload: JSON.stringify(s.payload) });
    },
    // Write transactions exclude each other: reading is locking, and `initial` is written by
    // the caller's put when it changes anything.
    lockRateBucket(initial) {
      const row = bucket.get(initial.key);
      return row ? { key: row.key, tokens: row.tokens, updatedAt: row.updated_at } : initial;
    },
    putRateBucket(b) {
      putBucket.run(b.key, b.tokens, b.updatedAt);
    },
    lockBreaker(initial) {
      const row = breaker.get(initial.key);
      return row ? toBreaker(row) : initial;
    },
    putBreaker(b) {
      putBreaker.run(b);
    },
    getCached(key, now) {
      const row = cachedOutput.get(key, now);
      return row
        ? { key, output: JSON.parse(row.output) as JsonValue, expiresAt: row.expires_at }
        : undefined;
    },
    putCached(entry) {
      putCache.run(entry.key, JSON.stringify(entry.output), entry.expiresAt);
    },
  };
}
