/**
 * @module pg-records
 * Receipts, the event log, executors and handler logs on PostgreSQL. Inside a write
 * transaction, receipts and events are buffered and written at commit time in one
 * statement each (see `PgTxBuffers.flush`): fewer round trips, and the event seqs are
 * handed out under a lock held to commit, so seq order is commit order.
 */
import type { Receipt } from '../../core/types.js';
import type { NewEvent } from '../records.js';
import {
  executorParams,
  RECEIPT_COLUMNS,
  receiptParams,
  toEvent,
  toExecutor,
  toLog,
  toReceipt,
  type EventRow,
  type ExecutorRow,
  type LogRow,
  type ReceiptRow,
} from '../rows/log-rows.js';
import type {
  EventFilter,
  EventReads,
  ExecutorReads,
  LogReads,
  ReceiptReads,
  StoreWrites,
} from '../store.js';
import type { Query } from './pg-sql.js';

export function createPgReads(query: Query): ReceiptReads & EventReads & ExecutorReads & LogReads {
  return {
    async receipts(itemId) {
      return (
        await query<ReceiptRow>('SELECT * FROM receipts WHERE item_id = $1 ORDER BY seq', [itemId])
      ).map(toReceipt);
    },
    async headSeq() {
      const [row] = await query<{ s: number | null }>('SELECT max(seq) AS s FROM events');
      return row?.s ?? 0;
    },
    async itemEvents(afterSeq, limit) {
      const found = await query<EventRow>(
        'SELECT * FROM events WHERE seq > $1 AND item_id IS NOT NULL ORDER BY seq LIMIT $2',
        [afterSeq, limit],
      );
      return found.map(toEvent);
    },
    async eventsAfter(afterSeq: number, filter: EventFilter, limit: number) {
      const values: unknown[] = [afterSeq, limit];
      const where = ['seq > $1'];
      for (const [column, value] of [
        ['item_id', filter.itemId],
        ['workflow_id', filter.workflowId],
        ['tenant', filter.tenant],
      ] as const) {
        if (value === undefined) continue;
        values.push(value);
        where.push(`${column} = $${values.length}`);
      }
      const found = await query<EventRow>(
        `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $2`,
        values,
      );
      return found.map(toEvent);
    },
    async getExecutor(id) {
      const [row] = await query<ExecutorRow>('SELECT * FROM executors WHERE id = $1', [id]);
      return row ? toExecutor(row) : undefined;
    },
    async listExecutors() {
      return (await query<ExecutorRow>('SELECT * FROM executors ORDER BY id')).map(toExecutor);
    },
    async logs(itemId, limit) {
      const found = await query<LogRow>('SELECT * FROM item_logs WHERE item_id = $1 ORDER BY seq LIMIT $2', [
        itemId,
        limit,
      ]);
      return found.map(toLog);
    },
  };
}

const RECEIPT_INSERT = `INSERT INTO receipts (${RECEIPT_COLUMNS.join(', ')})
  SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[],
    $7::float8[], $8::text[], $9::text[], $10::int[], $11::text[], $12::text[])`;

const EVENT_INSERT = `INSERT INTO events (type, at, tenant, item_id, workflow_id, data)
  SELECT t, a, te, i, w, d
    FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])
         WITH ORDINALITY AS u(t, a, te, i, w, d, n)
   ORDER BY n`;

/** Rows a transaction writes at commit time. */
export class PgTxBuffers {
  private receipts: Receipt[] = [];
  private events: NewEvent[] = [];

  constructor(
    private readonly query: Query,
    private readonly eventLockKey: string,
  ) {}

  writes(): Pick<
    StoreWrites,
    'insertReceipt' | 'appendEvent' | 'appendLog' | 'upsertExecutor' | 'touchExecutor'
  > {
    const query = this.query;
    return {
      insertReceipt: (r) => void this.receipts.push(r),
      appendEvent: (e) => void this.events.push(e),
      async appendLog(itemId, attempt, at, message) {
        await query('INSERT INTO item_logs (item_id, attempt, at, message) VALUES ($1, $2, $3, $4)', [
          itemId,
          attempt,
          at,
          message,
        ]);
      },
      async upsertExecutor(e) {
        const p = executorParams(e);
        await query(
          `INSERT INTO executors (id, capabilities, concurrency, busy, registered_at, last_seen_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET capabilities = excluded.capabilities,
             concurrency = excluded.concurrency, busy = excluded.busy, last_seen_at = excluded.last_seen_at`,
          [p.id, p.capabilities, p.concurrency, p.busy, p.registered_at, p.last_seen_at],
        );
      },
      async touchExecutor(id, at) {
        await query('UPDATE executors SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2', [id, at]);
      },
    };
  }

  /** Writes the buffered receipts and events; call last, just before COMMIT. */
  async flush(): Promise<void> {
    if (this.receipts.length > 0) {
      const columns = RECEIPT_COLUMNS.map(() => [] as unknown[]);
      for (const r of this.receipts) receiptParams(r).forEach((v, i) => columns[i]!.push(v));
      await this.query(RECEIPT_INSERT, columns);
    }
    if (this.events.length > 0) {
      // Held until COMMIT: transactions append to the log one at a time, in commit order.
      await this.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [this.eventLockKey]);
      const e = this.events;
      await this.query(EVENT_INSERT, [
        e.map((x) => x.type),
        e.map((x) => x.at),
        e.map((x) => x.tenant),
        e.map((x) => x.itemId),
        e.map((x) => x.workflowId),
        e.map((x) => JSON.stringify(x.data)),
      ]);
    }
  }
}
