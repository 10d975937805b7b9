/**
 * @module pg-workflow-tx
 * The workflow half of a PostgreSQL write transaction (see pg-tx.ts): workflow rows it has
 * locked are kept with their pending changes, so the orchestrator can read and patch a
 * workflow once per settled step without a round trip each, and the changes go out as one
 * UPDATE per workflow with the transaction's next text.
 */
import type { WorkflowReads, WorkflowWrites } from '../store.js';
import type { WorkflowPatch, WorkflowRecord } from '../workflow-records.js';
import type { Query } from './pg-sql.js';
import {
  createPgWorkflowReads,
  ensureBreakerSql,
  ensureRateBucketSql,
  insertSignalSql,
  insertWorkflowSql,
  putBreakerSql,
  putCachedSql,
  putRateBucketSql,
  updateWorkflowSql,
} from './pg-workflows.js';

export class PgWorkflowTx {
  private readonly locked = new Map<string, WorkflowRecord>();
  private dirty = new Set<string>();

  /**
   * @param read a read that first sends everything held back
   * @param defer holds back a literal statement, sent in order with the transaction's next text
   */
  constructor(
    private readonly read: Query,
    private readonly defer: (sql: string) => void,
  ) {}

  view(): WorkflowReads & WorkflowWrites {
    const reads = createPgWorkflowReads(this.read, true);
    return {
      ...reads,
      getWorkflow: async (id) => {
        const held = this.locked.get(id);
        if (held) return held;
        const found = await reads.getWorkflow(id);
        if (found) this.locked.set(id, found);
        return found;
      },
      insertWorkflow: (w, spec) => {
        // In order with the other statements, so updates made later in the transaction follow it.
        this.defer(insertWorkflowSql(w, spec));
        this.locked.set(w.id, w);
      },
      updateWorkflow: async (id: string, patch: WorkflowPatch) => {
        const held = this.locked.get(id) ?? (await reads.getWorkflow(id));
        if (!held) return;
        this.locked.set(id, { ...held, ...patch });
        this.dirty.add(id);
      },
      insertSignal: (s) => this.defer(insertSignalSql(s)),
      // Create-if-missing, then lock: both in the read's round trip. A process that meets the
      // new row of another's open transaction waits for it at the INSERT, then reads it.
      lockRateBucket: async (initial) => {
        this.defer(ensureRateBucketSql(initial));
        return (await reads.getRateBucket(initial.key)) ?? initial;
      },
      lockBreaker: async (initial) => {
        this.defer(ensureBreakerSql(initial));
        return (await reads.getBreaker(initial.key)) ?? initial;
      },
      putRateBucket: (b) => this.defer(putRateBucketSql(b)),
      putBreaker: (b) => this.defer(putBreakerSql(b)),
      putCached: (e) => this.defer(putCachedSql(e)),
    };
  }

  /** Workflow rows the transaction has just locked (read with its items, see PgTx.lockItems). */
  hold(rows: readonly WorkflowRecord[]): void {
    for (const w of rows) if (!this.locked.has(w.id)) this.locked.set(w.id, w);
  }

  /** Whether the transaction holds this workflow's row. */
  holds(id: string): boolean {
    return this.locked.has(id);
  }

  /** The held-back workflow updates, one statement per changed workflow. */
  takeHeld(): string[] {
    const out = [...this.dirty].map((id) => updateWorkflowSql(this.locked.get(id)!));
    this.dirty = new Set();
    return out;
  }
}
