/**
 * The conformance suite: the same tests of the store, the engine and the worker runtime,
 * run unchanged against each backend (`conformance-sqlite.test.ts`,
 * `conformance-postgres.test.ts`). A backend-specific skip must say why.
 */
import { describe } from 'vitest';
import type { TestBackend } from '../helpers/backends.js';
import { badInputSuite } from './bad-input.js';
import { claimByTypeSuite } from './claim-by-type.js';
import { primitivesSuite } from './primitives.js';
import { receiptsTamperSuite } from './receipts-tamper.js';
import { serviceSuite } from './service.js';
import { replaySuite } from './replay.js';
import { subscribeSuite } from './subscribe.js';
import { workerSuite } from './worker.js';
import { workflowsSuite } from './workflows.js';

export const CONFORMANCE_SUITES = {
  primitives: primitivesSuite,
  'bad-input': badInputSuite,
  replay: replaySuite,
  receipts: receiptsTamperSuite,
  subscribe: subscribeSuite,
  worker: workerSuite,
  'claim-by-type': claimByTypeSuite,
  workflows: workflowsSuite,
  service: serviceSuite,
} as const;

export function runStoreConformance(
  backend: TestBackend,
  suites: readonly (keyof typeof CONFORMANCE_SUITES)[] = Object.keys(CONFORMANCE_SUITES) as never,
): void {
  for (const name of suites) describe(`${backend.name}: ${name}`, () => CONFORMANCE_SUITES[name](backend));
}
