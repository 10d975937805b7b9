// Copies the SQL migrations next to the compiled store modules (dist/), where
// migrate.ts finds them relative to its own URL.
import { cpSync, mkdirSync } from 'node:fs';

const pairs = [
  ['src/store/sqlite/migrations', 'dist/store/sqlite/migrations'],
  ['src/store/postgres/migrations', 'dist/store/postgres/migrations'],
];
for (const [from, to] of pairs) {
  mkdirSync(to, { recursive: true });
  cpSync(from, to, { recursive: true, filter: (p) => !p.endsWith('.ts') });
}
