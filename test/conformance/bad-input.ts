/**
 * Bad input to every public primitive: a VALIDATION error that names the field, and not
 * one row or event written.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConveyor, type Conveyor } from '../../src/index.js';
import type { TestBackend } from '../helpers/backends.js';

export function badInputSuite(b: TestBackend): void {
  let cv: Conveyor;
  let itemId: string;

  /** A fingerprint of everything stored: counts, the log head, executors. */
  async function snapshot(): Promise<string> {
    const store = (cv as unknown as { engine: { store: { headSeq(): Promise<number> | number } } }).engine
      .store;
    return JSON.stringify([await cv.getCounts(), await store.headSeq(), await cv.listExecutors()]);
  }

  beforeEach(async () => {
    cv = await b.open();
    await cv.registerExecutor('e1', { capabilities: ['gpu'] });
    itemId = (await cv.enqueueWorkItem({ type: 't' })).id;
  });
  afterEach(() => cv.close());

  async function rejects(call: () => Promise<unknown>, field: string | RegExp): Promise<void> {
    const before = await snapshot();
    let error: unknown;
    try {
      await call();
    } catch (e) {
      error = e;
    }
    expect(error, `expected VALIDATION on ${String(field)}`).toMatchObject({
      code: 'VALIDATION',
      name: 'ValidationError',
    });
    const f = (error as { field: string }).field;
    if (typeof field === 'string') expect(f).toBe(field);
    else expect(f).toMatch(field);
    expect((error as Error).message).toContain(f);
    expect(await snapshot()).toBe(before);
  }

  /** Calls `fn`, which must throw synchronously an error matching `shape`. */
  function throwsWith(fn: () => unknown, shape: Record<string, unknown>): void {
    let error: unknown;
    try {
      fn();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject(shape);
  }

  const circular: Record<string, unknown> = {};
  circular.self = circular;
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];

  describe('enqueueWorkItem rejects', () => {
    const cases: Array<[string, unknown, string | RegExp]> = [
      ['no type', {}, 'type'],
      ['empty type', { type: '' }, 'type'],
      ['type with spaces', { type: 'a b' }, 'type'],
      ['non-object input', 'email', '(input)'],
      ['null input', null, '(input)'],
      ['unknown field', { type: 't', colour: 'red' }, 'colour'],
      ['payload with a function', { type: 't', payload: { f: () => 1 } }, 'payload'],
      ['payload with a cycle', { type: 't', payload: circular }, 'payload'],
      ['payload with NaN', { type: 't', payload: { x: NaN } }, 'payload'],
      ['payload with a bigint', { type: 't', payload: { x: 1n } }, 'payload'],
      ['payload nested too deep', { type: 't', payload: deep }, 'payload'],
      ['payload of a class instance', { type: 't', payload: new Map() }, 'payload'],
      ['fractional priority', { type: 't', priority: 1.5 }, 'priority'],
      ['unknown priority name', { type: 't', priority: 'urgent' }, 'priority'],
      ['negative maxRetries', { type: 't', constraints: { maxRetries: -1 } }, 'constraints.maxRetries'],
      ['string maxRetries', { type: 't', constraints: { maxRetries: '3' } }, 'constraints.maxRetries'],
      ['zero maxDurationMs', { type: 't', constraints: { maxDurationMs: 0 } }, 'constraints.maxDurationMs'],
      ['maxDuration as a number', { type: 't', constraints: { maxDuration: 5 } }, 'constraints.maxDuration'],
      [
        'both maxDuration forms',
        { type: 't', constraints: { maxDuration: 5n, maxDurationMs: 5 } },
        'constraints.maxDuration',
      ],
      [
        'unknown backoff type',
        { type: 't', constraints: { backoff: { type: 'random' } } },
        'constraints.backoff.type',
      ],
      [
        'jitter above 1',
        { type: 't', constraints: { backoff: { jitter: 2 } } },
        'constraints.backoff.jitter',
      ],
      [
        'maxMs below baseMs',
        { type: 't', constraints: { backoff: { baseMs: 10, maxMs: 5 } } },
        'constraints.backoff.maxMs',
      ],
      [
        'dependency not a string',
        { type: 't', constraints: { dependencies: [42] } },
        'constraints.dependencies[0]',
      ],
      [
        'capability not a string',
        { type: 't', constraints: { requiredCapabilities: [null] } },
        'constraints.requiredCapabilities[0]',
      ],
      ['negative budget', { type: 't', budget: { ops: -1 } }, 'budget.ops'],
      ['budget value not a number', { type: 't', budget: { ops: 'many' } }, 'budget.ops'],
      ['empty idempotency key', { type: 't', idempotencyKey: '' }, 'idempotencyKey'],
      ['runAt not a date', { type: 't', runAt: 'tomorrow' }, 'runAt'],
      ['invalid Date', { type: 't', runAt: new Date('nope') }, 'runAt'],
      ['negative delay', { type: 't', delayMs: -5 }, 'delayMs'],
      ['runAt and delayMs', { type: 't', runAt: Date.now(), delayMs: 5 }, 'delayMs'],
      ['webhook not http', { type: 't', webhookUrl: 'ftp://x.y/z' }, 'webhookUrl'],
      ['webhook not a URL', { type: 't', webhookUrl: 'not a url' }, 'webhookUrl'],
      ['__proto__ key', JSON.parse('{"type":"t","__proto__":{"x":1}}'), /__proto__/],
    ];
    for (const [name, input, field] of cases) {
      it(name, () => rejects(() => cv.enqueueWorkItem(input as never), field));
    }
  });

  describe('enqueueWorkItems rejects', () => {
    it('a non-array', () => rejects(() => cv.enqueueWorkItems({} as never), 'items'));
    it('an empty array', () => rejects(() => cv.enqueueWorkItems([]), 'items'));
    it('one bad item among good ones, naming its index', () =>
      rejects(
        () => cv.enqueueWorkItems([{ type: 't' }, { type: 't' }, { type: 't', priority: 'x' as never }]),
        'items[2].priority',
      ));
  });

  describe('the other primitives reject', () => {
    it('registerExecutor: bad id, capabilities, concurrency, unknown option', async () => {
      await rejects(() => cv.registerExecutor('', {}), 'id');
      await rejects(() => cv.registerExecutor('e2', { capabilities: 'gpu' as never }), 'capabilities');
      await rejects(() => cv.registerExecutor('e2', { concurrency: 0 }), 'concurrency');
      await rejects(() => cv.registerExecutor('e2', { speed: 1 } as never), 'speed');
    });
    it('assignWorkItem / startExecution: bad ids', async () => {
      await rejects(() => cv.assignWorkItem('', 'e1'), 'itemId');
      await rejects(() => cv.assignWorkItem(itemId, 42 as never), 'executorId');
      await rejects(() => cv.startExecution(undefined as never, 'e1'), 'itemId');
    });
    it('reportProgress: percent out of range or not a number', async () => {
      await cv.startExecution(itemId, 'e1');
      const before = await snapshot();
      await rejects(() => cv.reportProgress(itemId, 'e1', 101), 'percent');
      await rejects(() => cv.reportProgress(itemId, 'e1', -1), 'percent');
      await rejects(() => cv.reportProgress(itemId, 'e1', '50' as never), 'percent');
      await rejects(() => cv.reportProgress(itemId, 'e1', 50, 7 as never), 'message');
      expect(await snapshot()).toBe(before);
    });
    it('completeWorkItem: output that is not JSON, bad usage, unknown field', async () => {
      await cv.startExecution(itemId, 'e1');
      await rejects(() => cv.completeWorkItem(itemId, 'e1', { output: { f: () => 1 } }), 'output');
      await rejects(() => cv.completeWorkItem(itemId, 'e1', { usage: { ops: -2 } }), 'usage.ops');
      await rejects(() => cv.completeWorkItem(itemId, 'e1', { result: 1 } as never), 'result');
      expect((await cv.getWorkItem(itemId)).status).toBe('running');
    });
    it('failWorkItem: missing error, bad retryable, bad retryAfterMs', async () => {
      await cv.startExecution(itemId, 'e1');
      await rejects(() => cv.failWorkItem(itemId, 'e1', {} as never), 'error');
      await rejects(
        () => cv.failWorkItem(itemId, 'e1', { error: 'x', retryable: 'yes' as never }),
        'retryable',
      );
      await rejects(() => cv.failWorkItem(itemId, 'e1', { error: 'x', retryAfterMs: -1 }), 'retryAfterMs');
    });
    it('cancelWorkItem: bad reason, bad executor id', async () => {
      await rejects(() => cv.cancelWorkItem(itemId, null, { reason: 5 as never }), 'reason');
      await rejects(() => cv.cancelWorkItem(itemId, ''), 'executorId');
    });
    it('reads: bad ids, filters, limits and cursors', async () => {
      await rejects(() => cv.getWorkItem(''), 'id');
      await rejects(() => cv.getWorkItemReceipts({} as never), 'id');
      await rejects(() => cv.verifyReceipts(null as never), 'id');
      await rejects(() => cv.listWorkItems({ status: 'done' as never }), 'status');
      await rejects(() => cv.listWorkItems({ limit: 0 }), 'limit');
      await rejects(() => cv.listWorkItems({ cursor: 'abc' }), 'cursor');
      await rejects(() => cv.getQueuedItems({ limit: -1 }), 'limit');
      await rejects(() => cv.getCounts({ status: 'queued' } as never), 'status');
    });
    it('subscribe: bad filter or listener', () => {
      throwsWith(() => cv.subscribe({ afterSeq: -1 }, () => {}), { field: 'afterSeq' });
      throwsWith(() => cv.subscribe({}, 'listener' as never), { field: 'listener' });
    });
    it('worker: missing handlers, non-function handler, bad concurrency', () => {
      throwsWith(() => cv.worker({} as never), { code: 'VALIDATION', field: 'handlers' });
      throwsWith(() => cv.worker({ handlers: { t: 'x' as never } }), { field: 'handlers.t' });
      throwsWith(() => cv.worker({ handlers: {} }), { field: 'handlers' });
      throwsWith(() => cv.worker({ handlers: { t: () => 1 }, concurrency: 0 }), { field: 'concurrency' });
      throwsWith(() => cv.worker({ handlers: { t: () => 1 }, pollIntervalMs: 0 }), {
        field: 'pollIntervalMs',
      });
      throwsWith(() => cv.worker({ handlers: { t: () => 1 }, heartbeatIntervalMs: 'x' as never }), {
        field: 'heartbeatIntervalMs',
      });
      throwsWith(() => cv.worker({ handlers: { t: () => 1 }, shutdownTimeoutMs: -1 }), {
        field: 'shutdownTimeoutMs',
      });
    });
    it('a long Conveyor lease is a valid worker lease', async () => {
      const long = await b.open({ leaseMs: 3_600_000 });
      const w = long.worker({ handlers: { t: () => 1 } });
      await w.stop();
      await long.close();
    });
    it('createConveyor: bad options', async () => {
      await expect(createConveyor({ leaseMs: -1 })).rejects.toMatchObject({
        code: 'VALIDATION',
        field: 'leaseMs',
      });
      await expect(createConveyor({ database: '' })).rejects.toMatchObject({ field: 'database' });
      await expect(createConveyor({ database: 'postgres://127.0.0.1:1/none' })).rejects.toMatchObject({
        code: 'STORE',
        message: expect.stringMatching(/cannot open the PostgreSQL database/) as unknown,
      });
      await expect(createConveyor({ database: ':memory:', schema: 'app' })).rejects.toMatchObject({
        code: 'VALIDATION',
        field: 'schema',
      });
      await expect(
        createConveyor({ database: 'postgres://127.0.0.1:1/none', schema: 'Robert"; DROP' }),
      ).rejects.toMatchObject({ code: 'VALIDATION', field: 'schema' });
      await expect(createConveyor({ database: ':memory:', poolSize: 0 })).rejects.toMatchObject({
        field: 'poolSize',
      });
      await expect(createConveyor({ bogus: 1 } as never)).rejects.toMatchObject({ field: 'bogus' });
    });
  });
}
