import { describe, expect, it } from 'vitest';
import type { ItemRecord } from '../records.js';
import { updateItemsSql } from './pg-write-sql.js';

const queued: ItemRecord = {
  id: 'a',
  tenant: 'default',
  queue: 'default',
  type: 't',
  name: null,
  retryOf: null,
  payload: { big: 'x'.repeat(1000) },
  status: 'queued',
  priority: 0,
  requiredCapabilities: [],
  dependencies: [],
  maxDurationMs: null,
  maxRetries: 3,
  backoff: { type: 'exponential', baseMs: 1000, maxMs: 60000, jitter: 0 },
  budget: null,
  usage: {},
  idempotencyKey: null,
  webhookUrl: null,
  workflowId: null,
  stepId: null,
  mapIndex: null,
  policies: null,
  progress: 0,
  progressMessage: null,
  attempts: 0,
  retries: 0,
  output: null,
  error: null,
  executorId: null,
  createdAt: 1,
  assignedAt: null,
  startedAt: null,
  finishedAt: null,
  runAt: 1,
  deadlineAt: null,
  receiptSeq: 1,
  receiptHash: 'h1',
  leaseToken: 0,
  leaseExpiresAt: null,
  unfinishedDeps: 0,
};
const running = (id: string): ItemRecord => ({
  ...queued,
  id,
  status: 'running',
  executorId: 'w',
  startedAt: 5,
  attempts: 1,
  receiptSeq: 2,
  receiptHash: 'h2',
  leaseToken: 7,
  leaseExpiresAt: 9,
});

describe('updateItemsSql', () => {
  it('sends the columns that changed in any item, not the payload that stayed', () => {
    const a = { ...running('a'), progress: 0.25 };
    const b = { ...running('b'), progress: 0.5 };
    const update = updateItemsSql([
      { now: a, stored: { ...queued, id: 'a' } },
      { now: b, stored: { ...queued, id: 'b', progress: 0.5 } },
    ])!;
    expect(update.text).not.toMatch(/payload/);
    expect(update.text).toMatch(
      /SET status = v\.status, progress = v\.progress, attempts = v\.attempts, executor_id/,
    );
    // Columns in the order of their placeholders, ids first; b's unchanged progress goes too.
    const columns = [...update.text.matchAll(/\$\d+::(\w+)\[\]/g)].length;
    expect(update.values).toHaveLength(columns);
    expect(update.values[0]).toEqual(['a', 'b']);
    expect(update.values).toContainEqual(['running', 'running']);
    expect(update.values).toContainEqual([0.25, 0.5]);
  });

  it('writes every column when the stored state is not known, and nothing when nothing changed', () => {
    const update = updateItemsSql([{ now: running('a'), stored: undefined }])!;
    expect(update.text).toMatch(/payload = v\.payload/);
    expect(update.values).toContainEqual([JSON.stringify(queued.payload)]);
    expect(updateItemsSql([{ now: running('a'), stored: running('a') }])).toBeNull();
  });

  it('gives one text to one set of columns', () => {
    const one = updateItemsSql([{ now: running('a'), stored: { ...queued, id: 'a' } }])!;
    const two = updateItemsSql([{ now: running('b'), stored: { ...queued, id: 'b' } }])!;
    expect(two.text).toBe(one.text);
  });
});
