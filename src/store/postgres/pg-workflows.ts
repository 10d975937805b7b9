/**
 * @module pg-workflows
 * Workflow queries on PostgreSQL: the reads (inside a write transaction `getWorkflow` locks
 * the row FOR UPDATE, and the policy rows are locked the same way, so concurrent settles
 * of one workflow or one breaker take turns) and the literal statements `PgTx` sends for
 * the writes it holds back.
 */
import type { JsonValue } from '../../core/types.js';
import { toItemRecord, toStepOutcome, type ItemRow } from '../rows/item-rows.js';
import { EVENT_SELECT, toEvent, type EventRow } from '../rows/log-rows.js';
import {
  toBreaker,
  toSignal,
  toWorkflowParams,
  toWorkflowRecord,
  WORKFLOW_COLUMNS,
  type BreakerRow,
  type SignalRow,
  type WorkflowRow,
} from '../rows/workflow-rows.js';
import type { WorkflowReads, WorkflowWrites } from '../store.js';
import type {
  BreakerRecord,
  CacheEntry,
  RateBucket,
  SignalRecord,
  WorkflowRecord,
  WorkflowSpec,
} from '../workflow-records.js';
import { pageOf } from '../paging.js';
import { inlineSql, sqlLiteral, type Query } from './pg-sql.js';

type PolicyReads = Pick<WorkflowWrites, 'getCached'> & {
  getRateBucket(key: string): Promise<RateBucket | undefined>;
  getBreaker(key: string): Promise<BreakerRecord | undefined>;
};

// A run's steps (not map children), in creation order: whole, or what became of them.
const STEP_ROWS = 'FROM items WHERE workflow_id = $1 AND map_index IS NULL ORDER BY seq';

export function createPgWorkflowReads(query: Query, locking: boolean): WorkflowReads & PolicyReads {
  const lock = locking ? ' FOR UPDATE' : '';
  const one = async <R>(text: string, values: unknown[]) => (await query<R>(text, values))[0];
  return {
    async getWorkflow(id) {
      const row = await one<WorkflowRow>(`SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE id = $1${lock}`, [
        id,
      ]);
      return row ? toWorkflowRecord(row) : undefined;
    },
    async workflowSpec(id) {
      const row = await one<{ definition: string; input: string }>(
        'SELECT definition, input FROM workflows WHERE id = $1',
        [id],
      );
      if (!row) return undefined;
      return {
        definition: JSON.parse(row.definition) as JsonValue,
        input: JSON.parse(row.input) as JsonValue,
      };
    },
    async findWorkflowByIdempotencyKey(tenant, key) {
      const row = await one<WorkflowRow>(
        `SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE tenant = $1 AND idempotency_key = $2`,
        [tenant, key],
      );
      return row ? toWorkflowRecord(row) : undefined;
    },
    async listWorkflows(filter, page) {
      const values: unknown[] = [];
      const where: string[] = [];
      const add = (clause: (p: string) => string, v: unknown) => {
        values.push(v);
        where.push(clause(`$${values.length}`));
      };
      if (filter.tenant !== undefined) add((p) => `tenant = ${p}`, filter.tenant);
      if (filter.name !== undefined) add((p) => `name = ${p}`, filter.name);
      if (filter.status !== undefined)
        add(
          (p) => `status = ANY(${p}::text[])`,
          Array.isArray(filter.status) ? filter.status : [filter.status],
        );
      if (page.beforeSeq !== undefined) add((p) => `seq < ${p}`, page.beforeSeq);
      values.push(page.limit);
      const rows = await query<WorkflowRow>(
        `SELECT ${WORKFLOW_COLUMNS} FROM workflows ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
          ORDER BY seq DESC LIMIT $${values.length}`,
        values,
      );
      return pageOf(rows, page.limit, toWorkflowRecord);
    },
    async workflowSteps(workflowId) {
      const rows = await query<ItemRow>(`SELECT * ${STEP_ROWS}`, [workflowId]);
      return rows.map(toItemRecord);
    },
    async workflowOutcomes(workflowId) {
      const rows = await query<Pick<ItemRow, 'step_id' | 'status' | 'output' | 'error'>>(
        `SELECT step_id, status, output, error ${STEP_ROWS}`,
        [workflowId],
      );
      return rows.map(toStepOutcome);
    },
    async mapChildren(workflowId, stepId) {
      const rows = await query<ItemRow>(
        `SELECT * FROM items WHERE workflow_id = $1 AND step_id = $2 AND map_index IS NOT NULL
          ORDER BY map_index`,
        [workflowId, stepId],
      );
      return rows.map(toItemRecord);
    },
    async firstSignal(workflowId, name) {
      const row = await one<SignalRow>(
        'SELECT * FROM workflow_signals WHERE workflow_id = $1 AND name = $2 ORDER BY seq LIMIT 1',
        [workflowId, name],
      );
      return row ? toSignal(row) : undefined;
    },
    async workflowEvents(afterSeq, limit) {
      const rows = await query<EventRow>(
        `SELECT ${EVENT_SELECT} FROM events WHERE seq > $1 AND item_id IS NULL AND workflow_id IS NOT NULL
          ORDER BY seq LIMIT $2`,
        [afterSeq, limit],
      );
      return rows.map(toEvent);
    },
    async getRateBucket(key) {
      const row = await one<{ key: string; tokens: number; updated_at: number }>(
        `SELECT * FROM rate_limits WHERE key = $1${lock}`,
        [key],
      );
      return row ? { key: row.key, tokens: row.tokens, updatedAt: row.updated_at } : undefined;
    },
    async getBreaker(key) {
      const row = await one<BreakerRow>(`SELECT * FROM circuit_breakers WHERE key = $1${lock}`, [key]);
      return row ? toBreaker(row) : undefined;
    },
    async getCached(key, now) {
      const row = await one<{ output: string; expires_at: number }>(
        'SELECT output, expires_at FROM step_cache WHERE key = $1 AND expires_at > $2',
        [key, now],
      );
      return row
        ? { key, output: JSON.parse(row.output) as JsonValue, expiresAt: row.expires_at }
        : undefined;
    },
  };
}

const INSERT_COLUMNS = Object.keys(toWorkflowParams({} as never, null)) as (keyof Omit<WorkflowRow, 'seq'>)[];

export function insertWorkflowSql(w: WorkflowRecord, spec: WorkflowSpec): string {
  const p = toWorkflowParams(w, spec);
  return `INSERT INTO workflows (${INSERT_COLUMNS.join(', ')})
    VALUES (${INSERT_COLUMNS.map((c) => sqlLiteral(p[c])).join(', ')})`;
}

/** A workflow's whole changing state (its status, counters, error and times). */
export function updateWorkflowSql(w: WorkflowRecord): string {
  const p = toWorkflowParams(w, null);
  const sets = (['status', 'counters', 'error', 'started_at', 'finished_at'] as const).map(
    (c) => `${c} = ${sqlLiteral(p[c])}`,
  );
  return `UPDATE workflows SET ${sets.join(', ')} WHERE id = ${sqlLiteral(w.id)}`;
}

export const insertSignalSql = (s: Omit<SignalRecord, 'seq'>): string =>
  inlineSql(
    'INSERT INTO workflow_signals (id, workflow_id, name, payload, received_at) VALUES ($1, $2, $3, $4, $5)',
    [s.id, s.workflowId, s.name, JSON.stringify(s.payload), s.receivedAt],
  );

export const putRateBucketSql = (b: RateBucket): string =>
  inlineSql(
    `INSERT INTO rate_limits (key, tokens, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
    [b.key, b.tokens, b.updatedAt],
  );

/** Creates the policy row unless it exists (so a FOR UPDATE read after it always finds one). */
export const ensureRateBucketSql = (b: RateBucket): string =>
  inlineSql(
    'INSERT INTO rate_limits (key, tokens, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING',
    [b.key, b.tokens, b.updatedAt],
  );

export const ensureBreakerSql = (b: BreakerRecord): string =>
  inlineSql(
    `INSERT INTO circuit_breakers (key, state, failures, opened_at, trial_item_id, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING`,
    [b.key, b.state, b.failures, b.openedAt, b.trialItemId, b.updatedAt],
  );

export const putBreakerSql = (b: BreakerRecord): string =>
  inlineSql(
    `INSERT INTO circuit_breakers (key, state, failures, opened_at, trial_item_id, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (key) DO UPDATE SET state = excluded.state, failures = excluded.failures,
       opened_at = excluded.opened_at, trial_item_id = excluded.trial_item_id, updated_at = excluded.updated_at`,
    [b.key, b.state, b.failures, b.openedAt, b.trialItemId, b.updatedAt],
  );

export const putCachedSql = (e: CacheEntry): string =>
  inlineSql(
    `INSERT INTO step_cache (key, output, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (key) DO UPDATE SET output = excluded.output, expires_at = excluded.expires_at`,
    [e.key, JSON.stringify(e.output), e.expiresAt],
  );
