/**
 * @module sqlite-logs
 * Lines a handler writes with `ctx.log`, kept per item and attempt.
 */
import type Database from 'better-sqlite3';
import type { LogRecord } from '../records.js';
import type { LogReads, StoreWrites } from '../store.js';

interface LogRow {
  seq: number;
  item_id: string;
  attempt: number;
  at: number;
  message: string;
}

export function createSqliteLogs(db: Database.Database): LogReads & Pick<StoreWrites, 'appendLog'> {
  const insert = db.prepare('INSERT INTO item_logs (item_id, attempt, at, message) VALUES (?, ?, ?, ?)');
  const forItem = db.prepare<[string, number], LogRow>(
    'SELECT * FROM item_logs WHERE item_id = ? ORDER BY seq LIMIT ?',
  );
  return {
    logs: (itemId, limit): LogRecord[] =>
      forItem.all(itemId, limit).map((r) => ({
        seq: r.seq,
        itemId: r.item_id,
        attempt: r.attempt,
        at: r.at,
        message: r.message,
      })),
    appendLog(itemId, attempt, at, message) {
      insert.run(itemId, attempt, at, message);
    },
  };
}
