/**
 * @module sqlite-events
 * The append-only event log: written in the same transaction as the change it records
 * (a transition's row also holds its receipt), read in seq order by subscribers and by
 * replay. SQLite runs one write transaction at a time, so seq order is commit order.
 */
import type Database from 'better-sqlite3';
import type { EventFilter, EventReads, StoreWrites } from '../store.js';
import { EVENT_INSERT_COLUMNS, EVENT_SELECT, eventParams, toEvent, type EventRow } from '../rows/log-rows.js';
import { createStatementCache } from './statement-cache.js';

export function createSqliteEvents(db: Database.Database): EventReads & Pick<StoreWrites, 'appendEvent'> {
  const insert = db.prepare(
    `INSERT INTO events (${EVENT_INSERT_COLUMNS.join(', ')}) VALUES (${EVENT_INSERT_COLUMNS.map(() => '?').join(', ')})`,
  );
  const head = db.prepare<[], { s: number | null }>('SELECT max(seq) AS s FROM events');
  const items = db.prepare<[number, number], EventRow>(
    `SELECT ${EVENT_SELECT} FROM events WHERE seq > ? AND item_id IS NOT NULL ORDER BY seq LIMIT ? + 0`,
  );
  const cached = createStatementCache(db);

  return {
    appendEvent(e) {
      insert.run(eventParams(e));
    },
    headSeq: () => head.get()?.s ?? 0,
    itemEvents: (afterSeq, limit) => items.all(afterSeq, limit).map(toEvent),
    eventsAfter(afterSeq: number, filter: EventFilter, limit: number) {
      const where = ['seq > @after'];
      if (filter.itemId !== undefined) where.push('item_id = @itemId');
      if (filter.workflowId !== undefined) where.push('workflow_id = @workflowId');
      if (filter.workflowEventsOnly) where.push('item_id IS NULL');
      if (filter.tenant !== undefined) where.push('tenant = @tenant');
      const { workflowEventsOnly: _flag, ...named } = filter; // not a named parameter
      const sql = `SELECT ${EVENT_SELECT} FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit + 0`;
      return cached<Record<string, unknown>, EventRow>(sql)
        .all({ after: afterSeq, limit, ...named })
        .map(toEvent);
    },
  };
}
