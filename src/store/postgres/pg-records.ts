/**
 * @module pg-records
 * Reads of receipts (the receipt columns of the event log), the event log, executors and
 * handler logs on PostgreSQL. Their writes are made by `PgTx`, which holds them back to
 * send with the next read or COMMIT.
 */
import {
  EVENT_SELECT,
  RECEIPT_SELECT,
  toEvent,
  toExecutor,
  toLog,
  toReceipt,
  type EventRow,
  type ExecutorRow,
  type LogRow,
  type ReceiptRow,
} from '../rows/log-rows.js';
import type { EventFilter, EventReads, ExecutorReads, LogReads, ReceiptReads } from '../store.js';
import type { Query } from './pg-sql.js';

export function createPgReads(query: Query): ReceiptReads & EventReads & ExecutorReads & LogReads {
  return {
    async receipts(itemId) {
      return (
        await query<ReceiptRow>(
          `SELECT ${RECEIPT_SELECT} FROM events WHERE item_id = $1 AND receipt_seq IS NOT NULL ORDER BY seq`,
          [itemId],
        )
      ).map(toReceipt);
    },
    async headSeq() {
      const [row] = await query<{ s: number | null }>('SELECT max(seq) AS s FROM events');
      return row?.s ?? 0;
    },
    async itemEvents(afterSeq, limit) {
      const found = await query<EventRow>(
        `SELECT ${EVENT_SELECT} FROM events WHERE seq > $1 AND item_id IS NOT NULL ORDER BY seq LIMIT $2`,
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
      if (filter.workflowEventsOnly) where.push('item_id IS NULL');
      const found = await query<EventRow>(
        `SELECT ${EVENT_SELECT} FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $2`,
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
