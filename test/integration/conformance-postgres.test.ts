/** The conformance suite on PostgreSQL (a fresh schema per Conveyor, dropped on close). */
import { describe } from 'vitest';
import { runStoreConformance } from '../conformance/run-store-conformance.js';
import { postgresBackend, requirePostgres } from '../helpers/backends.js';

const available = await requirePostgres('conformance-postgres.test.ts');
describe.skipIf(!available)('postgres', () => runStoreConformance(postgresBackend));
