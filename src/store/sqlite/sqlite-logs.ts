/**
 * @module sqlite-logs
 * Lines a handler writes with `ctx.log`, kept per item and attempt.
 */
import type Database from 'better-sqlite3';
import type { LogReads, StoreWrites } from '../store.js';
import { toLog, type LogRow } from '../rows/log-rows.js';

export function createSqliteLogs(db: Database.Database): LogReads & Pick<StoreWrites, 'appendLog'> {
  const insert = db.prepare('INSERT INTO item_logs (item_id, attempt, at, message) VALUES (?, ?, ?, ?)');
  const forItem = db.prepare<[string, number], LogRow>(
    'SELECT * FROM item_logs WHERE item_id = ? ORDER BY seq LIMIT ? + 0',
  );
  return {
    logs: (itemId, limit) => forItem.all(itemId, limit).map(toLog),
    appendLog(itemId, attempt, at, message) {
      insert.run(itemId, attempt, at, message);
    },
  };
}
