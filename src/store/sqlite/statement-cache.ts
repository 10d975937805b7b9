/**
 * @module statement-cache
 * Queries whose SQL depends on the filter (lists, counts, event reads) are built per call;
 * preparing is the expensive part, so each distinct SQL text is prepared once per
 * connection. The number of texts is bounded by the filter combinations.
 */
import type Database from 'better-sqlite3';

export type PrepareCached = <P extends unknown[] | object, R>(sql: string) => Database.Statement<P, R>;

export function createStatementCache(db: Database.Database): PrepareCached {
  const cache = new Map<string, Database.Statement>();
  return <P extends unknown[] | object, R>(sql: string) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt as unknown as Database.Statement<P, R>;
  };
}
