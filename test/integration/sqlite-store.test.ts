/**
 * The SQLite store itself: WAL on a file, migrations applied once (also when two
 * connections open a new file), and a committed schema snapshot so schema changes show
 * in review. Regenerate the snapshot with UPDATE_SCHEMA_SNAPSHOT=1.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { sqliteMigrations } from '../../src/store/sqlite/migrate.js';
import { createStore } from '../../src/store/create-store.js';
import { ITEM_READ_COLUMNS, itemRowOf, SELECT_ITEM } from '../../src/store/sqlite/item-reads.js';
import { createConveyor } from '../../src/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { verifyReceiptChain } from '../../src/core/receipts.js';
import { tempDir, waitFor } from '../helpers/conveyors.js';
import {
  LEGACY_EVENTS_BY_TYPE,
  LEGACY_RECEIPT_COLUMNS,
  legacyLog,
  type LegacyLog,
} from '../helpers/legacy-receipts.js';

const SNAPSHOT = new URL('../schema/sqlite-schema.sql', import.meta.url);

function schemaOf(store: SqliteStore): string {
  const rows = store.db
    .prepare(
      `SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name`,
    )
    .all() as { sql: string }[];
  return rows.map((r) => r.sql.trim() + ';').join('\n\n') + '\n';
}

describe('SqliteStore', () => {
  it('opens a file in WAL mode with a busy timeout and applies every migration once', async () => {
    const file = join(tempDir(), 'x.db');
    const a = new SqliteStore({ filename: file });
    const b = new SqliteStore({ filename: file }); // second opener: nothing left to apply
    expect(a.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(a.db.pragma('busy_timeout', { simple: true })).toBe(10_000);
    expect(a.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    const versions = a.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    expect(versions).toEqual(sqliteMigrations().map((m) => ({ version: m.version })));
    await Promise.all([a.close(), b.close()]);
    const full = new SqliteStore({ filename: file, durability: 'full' });
    expect(full.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    await full.close();
  });

  it('checkpoints the WAL from its helper thread, not in the writer’s commits', async () => {
    const file = join(tempDir(), 'wal.db');
    const store = new SqliteStore({ filename: file, checkpoint: { intervalMs: 20, truncateFrames: 10 } });
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    for (let i = 0; i < 200; i++) {
      await store.write(async (tx) => {
        await tx.appendEvent({
          type: 'x',
          at: i,
          tenant: 't',
          itemId: null,
          workflowId: null,
          data: { pad: 'x'.repeat(2000) },
        });
      });
    }
    expect(statSync(file + '-wal').size).toBeGreaterThan(100_000);
    await waitFor(() => statSync(file + '-wal').size === 0, 'the checkpointer to truncate the WAL', 5000);
    expect(store.lastCheckpointError).toBeUndefined();
    await store.close();
  });

  it('migration files are numbered without gaps', () => {
    const versions = sqliteMigrations().map((m) => m.version);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
  });

  it('0005 rebuilds the event log without AUTOINCREMENT, keeping every event and its seq', async () => {
    const file = join(tempDir(), 'old.db');
    // A file as version 4 left it, with a few events written through the old table.
    const old = new Database(file);
    for (const m of sqliteMigrations().filter((m) => m.version <= 4)) old.exec(m.sql);
    old.exec(`CREATE TABLE schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
    for (const v of [1, 2, 3, 4])
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(v, `m${v}`);
    const add = old.prepare(
      `INSERT INTO events (type, at, tenant, item_id, workflow_id, data) VALUES (?, 1, 't', ?, ?, '{}')`,
    );
    for (const [type, item, wf] of [
      ['item.enqueued', 'a', null],
      ['workflow.created', null, 'w'],
      ['item.completed', 'a', 'w'],
    ])
      add.run(type, item, wf);
    old.close();

    const store = new SqliteStore({ filename: file });
    expect(store.headSeq()).toBe(3);
    expect((await store.eventsAfter(0, {}, 10)).map((e) => [e.seq, e.type])).toEqual([
      [1, 'item.enqueued'],
      [2, 'workflow.created'],
      [3, 'item.completed'],
    ]);
    const ddl = store.db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'events'`).get() as {
      sql: string;
    };
    expect(ddl.sql).not.toMatch(/AUTOINCREMENT/);
    await store.write(async (tx) => {
      await tx.appendEvent({ type: 'x', at: 2, tenant: 't', itemId: 'a', workflowId: null, data: {} });
    });
    expect(store.headSeq()).toBe(4);
    expect((await store.eventsAfter(0, { itemId: 'a' }, 10)).map((e) => e.seq)).toEqual([1, 3, 4]);
    await store.close();
  });

  describe('0006 moves each receipt into the row of its event', () => {
    /** A file as version 5 left it, holding the legacy log (receipts in their own table). */
    function version5File(): { file: string; old: Database.Database; log: LegacyLog } {
      const file = join(tempDir(), 'v5.db');
      const old = new Database(file);
      for (const m of sqliteMigrations().filter((m) => m.version <= 5)) old.exec(m.sql);
      old.exec(`CREATE TABLE schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
      for (const v of [1, 2, 3, 4, 5])
        old.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(v, `m${v}`);
      const log = legacyLog();
      const receipt = old.prepare(
        `INSERT INTO receipts (${LEGACY_RECEIPT_COLUMNS}) VALUES (${Array(12).fill('?').join(', ')})`,
      );
      for (const row of log.receipts) receipt.run(row);
      const event = old.prepare(
        `INSERT INTO events (type, at, tenant, item_id, workflow_id, data) VALUES (?, 1, 't', ?, ?, ?)`,
      );
      for (const row of log.events) event.run(row);
      return { file, old, log };
    }

    it('every chain reads back as it was, and verifies', async () => {
      const { file, old, log } = version5File();
      old.close();
      const store = new SqliteStore({ filename: file });
      for (const [item, chain] of log.chains) {
        const moved = await store.receipts(item);
        expect(moved).toEqual(chain);
        expect(verifyReceiptChain(item, moved).valid).toBe(true);
      }
      const byType = store.db
        .prepare(
          `SELECT type, count(receipt_seq) AS with_receipt, count(*) AS n FROM events GROUP BY type ORDER BY type`,
        )
        .all();
      expect(byType).toEqual(LEGACY_EVENTS_BY_TYPE);
      expect(
        store.db.prepare(`SELECT name FROM sqlite_master WHERE name = 'receipts'`).get(),
      ).toBeUndefined();
      await store.close();
    });

    it('a receipt without its event stops the upgrade and changes nothing', () => {
      const { file, old } = version5File();
      old.exec(`DELETE FROM events WHERE item_id = 'a' AND type = 'item.progress'`);
      old.close();
      expect(() => new SqliteStore({ filename: file })).toThrow(/every_receipt_moved_to_its_event/);
      const check = new Database(file, { readonly: true });
      expect(check.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: 5 });
      expect(check.prepare('SELECT count(*) AS n FROM receipts').get()).toEqual({ n: 7 });
      expect(check.prepare(`SELECT count(*) AS n FROM pragma_table_info('events')`).get()).toEqual({ n: 7 });
      check.close();
    });
  });

  it('a live subscription reads the log after an in-process commit only when it appended a matching event', async () => {
    const cv = await createConveyor({ database: join(tempDir(), 'sub.db'), logger: silentLogger });
    const store = (cv as unknown as { engine: { store: SqliteStore } }).engine.store;
    const got: string[] = [];
    const sub = cv.subscribe({ workflowId: 'w-elsewhere' }, (e) => void got.push(e.type));
    await sub.ready;
    const reads = vi.spyOn(store, 'eventsAfter');
    // Ten commits about items of no workflow: nothing for this subscription to read.
    for (let i = 0; i < 10; i++) await cv.enqueueWorkItem({ type: 't' });
    expect(reads).not.toHaveBeenCalled();
    // A commit that appends an event it matches is read at once.
    await cv.enqueueWorkItem({ type: 't', workflowId: 'w-elsewhere' });
    await waitFor(() => got.length === 1, 'the matching event');
    expect(got).toEqual(['item.enqueued']);
    expect(reads).toHaveBeenCalledTimes(1);
    sub.close();
    await cv.close();
  });

  it('waitForWorkflow reads the log when the run ends, not at each step (in-process)', async () => {
    const cv = await createConveyor({ database: join(tempDir(), 'wait.db'), logger: silentLogger });
    const store = (cv as unknown as { engine: { store: SqliteStore } }).engine.store;
    let b = cv.workflow('chain').step('s0', 'noop', { input: 0 });
    for (let i = 1; i < 30; i++) b = b.step(`s${i}`, 'noop', { deps: [`s${i - 1}`], input: i });
    const w = cv.worker({ handlers: { noop: (p: unknown) => p } });
    await w.start();
    const { id } = await cv.startWorkflow(b.build());
    const reads = vi.spyOn(store, 'eventsAfter');
    const result = await cv.waitForWorkflow(id);
    expect(result.status).toBe('completed');
    expect(result.results.s29).toBe(29);
    // Each step logged a workflow.updated (its counters); one read at the end delivers them all.
    expect(reads.mock.calls.length).toBeLessThanOrEqual(2);
    await w.stop();
    await cv.close();
  });

  it('a worker settles a completion from the record it claimed, unless the handler used budget since', async () => {
    const cv = await createConveyor({ database: join(tempDir(), 'held.db'), logger: silentLogger });
    const tx = (cv as unknown as { engine: { store: { tx: { getItem(id: string): unknown } } } }).engine.store
      .tx;
    const plain = await cv.enqueueWorkItems(
      Array.from({ length: 20 }, (_, i) => ({ type: 't', payload: i })),
    );
    const spender = await cv.enqueueWorkItem({ type: 't', payload: 'spend', budget: { calls: 5 } });
    const reads = vi.spyOn(tx, 'getItem');
    const w = cv.worker({
      concurrency: 5,
      handlers: { t: async (p: unknown, ctx) => (p === 'spend' ? await ctx.consume('calls', 2) : p) },
    });
    await w.start();
    await waitFor(async () => (await cv.getCounts()).completed === 21, 'all completions');
    await w.stop();
    const readIds = new Set(reads.mock.calls.map(([id]) => id));
    expect(plain.filter((i) => readIds.has(i.id))).toEqual([]);
    expect(readIds.has(spender.id)).toBe(true);
    // Read as stored, the spender completes with the budget it used.
    expect(await cv.getWorkItem(spender.id)).toMatchObject({ status: 'completed', usage: { calls: 2 } });
    for (const i of [...plain, spender]) expect((await cv.verifyReceipts(i.id)).valid).toBe(true);
    await cv.close();
  });

  it('item reads in raw mode name every column as the driver’s own row objects do', async () => {
    const file = join(tempDir(), 'raw.db');
    const cv = await createConveyor({ database: file, logger: silentLogger });
    const parent = await cv.enqueueWorkItem({ type: 'p' });
    await cv.enqueueWorkItem({
      type: 't',
      name: 'named',
      queue: 'q',
      payload: { a: [1, 'x'] },
      priority: 'high',
      idempotencyKey: 'k1',
      delayMs: 5,
      budget: { toolOps: 3 },
      constraints: { requiredCapabilities: ['gpu'], dependencies: [parent.id], maxDurationMs: 900 },
    });
    await cv.close();
    const check = new Database(file, { readonly: true });
    const objects = check.prepare('SELECT * FROM items ORDER BY seq').all();
    const raw = check.prepare(`${SELECT_ITEM} FROM items ORDER BY seq`).raw(true).all() as unknown[][];
    check.close();
    expect(raw.map(itemRowOf)).toEqual(objects);
    expect(Object.keys(objects[0] as object).sort()).toEqual([...ITEM_READ_COLUMNS].sort());
  });

  it('matches the committed schema snapshot', async () => {
    const store = new SqliteStore({ filename: ':memory:' });
    const schema = schemaOf(store);
    await store.close();
    if (process.env.UPDATE_SCHEMA_SNAPSHOT) writeFileSync(SNAPSHOT, schema);
    expect(schema).toBe(readFileSync(SNAPSHOT, 'utf8'));
  });

  it('createStore understands file paths, sqlite: URLs and :memory:', async () => {
    const dir = tempDir();
    for (const url of [join(dir, 'a.db'), `sqlite:${join(dir, 'b.db')}`, ':memory:', 'sqlite::memory:']) {
      const s = await createStore(url);
      expect(s.kind).toBe('sqlite');
      await s.close();
    }
  });

  it('a failed transaction rolls back everything it wrote', async () => {
    const store = new SqliteStore({ filename: ':memory:' });
    await expect(
      store.write(async (tx) => {
        await tx.appendEvent({ type: 'x', at: 1, tenant: 't', itemId: null, workflowId: null, data: {} });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(store.headSeq()).toBe(0);
    await store.close();
  });
});
