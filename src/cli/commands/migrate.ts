/**
 * @module cli/commands/migrate
 * `conveyor migrate`: opens the store, which applies any pending migration (both backends
 * migrate on open, under a lock, so this is safe beside running processes), then lists
 * the migrations the database has recorded in its `schema_migrations` table. For a deploy
 * step that must finish before new processes start.
 */
import type { Command } from 'commander';
import type { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { example } from '../options.js';
import { out, printJson, table } from '../output.js';
import { databaseOption } from './serve-options.js';

// The stores' modules (and their drivers) are loaded by the command, not by every CLI start.
const DEFAULT_DATABASE = './conveyor.db';
const isPostgresUrl = (database: string): boolean => /^postgres(ql)?:\/\//i.test(database);

/** The schema createConveyor uses on PostgreSQL when none is given. */
const PG_SCHEMA = 'conveyor';

interface MigrationRow {
  version: number;
  name: string;
  applied_at: string;
}

/** A URL fit to print: the password replaced. */
export function redact(database: string): string {
  if (!isPostgresUrl(database)) return database;
  try {
    const url = new URL(database);
    if (url.password) url.password = '***';
    return url.href;
  } catch {
    return 'postgres://…';
  }
}

async function pgRows(database: string): Promise<MigrationRow[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: number; name: string; applied_at: Date }>(
      `SELECT version, name, applied_at FROM "${PG_SCHEMA}".schema_migrations ORDER BY version`,
    );
    return rows.map((r) => ({ version: r.version, name: r.name, applied_at: r.applied_at.toISOString() }));
  } finally {
    await client.end();
  }
}

function sqliteRows(store: SqliteStore): MigrationRow[] {
  const rows = store.db
    .prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version')
    .all() as Array<{ version: number; name: string; applied_at: number }>;
  return rows.map((r) => ({ ...r, applied_at: new Date(r.applied_at).toISOString() }));
}

async function migrate(flags: { database?: string; json?: boolean }): Promise<void> {
  const database = flags.database || DEFAULT_DATABASE;
  const { createStore } = await import('../../store/create-store.js');
  const { SqliteStore } = await import('../../store/sqlite/sqlite-store.js');
  const store = await createStore(database);
  let migrations: MigrationRow[];
  try {
    migrations = store instanceof SqliteStore ? sqliteRows(store) : await pgRows(database);
  } finally {
    await store.close();
  }
  const answer = {
    backend: store.kind,
    database: redact(database),
    version: migrations.at(-1)?.version ?? 0,
    migrations,
  };
  if (flags.json) {
    printJson(answer);
    return;
  }
  out(`${answer.backend} ${answer.database}: schema version ${answer.version}`);
  const rows = migrations.map((m) => [String(m.version).padStart(4, '0'), m.name, m.applied_at]);
  for (const line of table(['VERSION', 'NAME', 'APPLIED'], rows)) out(line);
}

export function registerMigrateCommand(program: Command): void {
  const command = program
    .command('migrate')
    .description("apply the store's pending migrations and list the applied ones")
    .addOption(databaseOption())
    .option('--json', 'print JSON for scripts')
    .action(migrate);
  example(command, 'conveyor migrate --database postgres://postgres@127.0.0.1:5432/conveyor --json');
}
