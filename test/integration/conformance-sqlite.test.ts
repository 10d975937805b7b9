/** The conformance suite on the embedded backend (a temp SQLite file per Conveyor). */
import { runStoreConformance } from '../conformance/run-store-conformance.js';
import { sqliteBackend } from '../helpers/backends.js';

runStoreConformance(sqliteBackend);
