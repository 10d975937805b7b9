/**
 * @module paging
 * Lists page newest first by `seq`: a page holds up to `limit` rows, and when it is full
 * the seq of its last row is where the next page starts (`beforeSeq`). One helper for every
 * list, on both backends, and for callers that want every row.
 */
export interface ListPage {
  /** Return items with `seq` below this (newest first), from a previous page's cursor. */
  beforeSeq?: number;
  limit: number;
}

export interface Page<T> {
  items: T[];
  /** Pass as `beforeSeq` for the next page; null when this was the last one. */
  lastSeq: number | null;
}

export function pageOf<R extends { seq: number }, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const last = rows.at(-1);
  return { items: rows.map(map), lastSeq: rows.length === limit && last ? last.seq : null };
}

/** A caller's `{ limit, cursor }` as the store's ListPage. */
export const listPage = (limit: number, cursor: string | undefined): ListPage =>
  cursor === undefined ? { limit } : { limit, beforeSeq: Number(cursor) };

/** A page's cursor for the caller: the next page's start, or null. */
export const nextCursor = (page: Page<unknown>): string | null =>
  page.lastSeq === null ? null : String(page.lastSeq);

/** Every row of a list, page by page (for checks that read the whole table). */
export async function* everyRow<T>(
  fetch: (page: ListPage) => Page<T> | Promise<Page<T>>,
  limit = 1000,
): AsyncGenerator<T> {
  let beforeSeq: number | undefined;
  for (;;) {
    const page = await fetch(beforeSeq === undefined ? { limit } : { limit, beforeSeq });
    yield* page.items;
    if (page.lastSeq === null) return;
    beforeSeq = page.lastSeq;
  }
}
