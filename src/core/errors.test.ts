/**
 * Error codes and classes: every code is documented in docs/errors.md (Fastify's
 * errors.test.js idea), every exported class sets `code` and `name`, and `toItemError`
 * turns whatever a handler throws into a small `{ code, message, name? }`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from './errors.js';
import {
  BudgetExceededError,
  CapabilityMismatchError,
  ClosedError,
  ConflictError,
  ConveyorError,
  CycleError,
  ERROR_CODES,
  ExecutorBusyError,
  InvalidTransitionError,
  LeaseLostError,
  NonRetryableError,
  NotDueError,
  NotFoundError,
  RetryAfterError,
  TemplateError,
  TenantMismatchError,
  ValidationError,
  toItemError,
} from './errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** One representative construction per exported class, with the code and name it must carry. */
const constructions: Record<string, { make: () => ConveyorError; code: string }> = {
  ConveyorError: { make: () => new ConveyorError('STORE', 'disk full'), code: 'STORE' },
  ValidationError: {
    make: () => new ValidationError([{ field: 'constraints.maxRetries', message: 'must be ≥ 0' }]),
    code: 'VALIDATION',
  },
  NotFoundError: { make: () => new NotFoundError('work item', 'abc', 'itemId'), code: 'NOT_FOUND' },
  InvalidTransitionError: {
    make: () => new InvalidTransitionError('abc', 'completed', 'running', 'started'),
    code: 'INVALID_TRANSITION',
  },
  CapabilityMismatchError: {
    make: () => new CapabilityMismatchError('abc', 'executor-1', ['gpu']),
    code: 'CAPABILITY_MISMATCH',
  },
  BudgetExceededError: {
    make: () => new BudgetExceededError('abc', 'toolOps', 11, 10),
    code: 'BUDGET_EXCEEDED',
  },
  CycleError: { make: () => new CycleError(['a', 'b', 'a']), code: 'CYCLE' },
  TenantMismatchError: {
    make: () => new TenantMismatchError('other tenant', { field: 'constraints.dependencies[0]' }),
    code: 'TENANT_MISMATCH',
  },
  ConflictError: { make: () => new ConflictError('id taken', { field: 'id', id: 'abc' }), code: 'CONFLICT' },
  LeaseLostError: {
    make: () => new LeaseLostError('abc', 'executor-1', 'held by executor-2'),
    code: 'LEASE_LOST',
  },
  ExecutorBusyError: {
    make: () => new ExecutorBusyError('executor-1', 'marked busy'),
    code: 'EXECUTOR_BUSY',
  },
  NotDueError: { make: () => new NotDueError('abc', '2026-01-01T00:00:00.000Z'), code: 'NOT_DUE' },
  ClosedError: { make: () => new ClosedError(), code: 'CLOSED' },
  NonRetryableError: { make: () => new NonRetryableError('bad input file'), code: 'NON_RETRYABLE' },
  RetryAfterError: { make: () => new RetryAfterError('rate limited', 5000), code: 'RETRY_AFTER' },
  TemplateError: {
    make: () => new TemplateError('{{input.user}}', 'user', 'input has no field "user"', 'to'),
    code: 'TEMPLATE',
  },
};

const exportedClasses = Object.entries(errors as Record<string, unknown>).filter(
  (entry): entry is [string, new (...args: never[]) => Error] =>
    typeof entry[1] === 'function' && entry[1].prototype instanceof Error,
);

describe('error codes', () => {
  it.each(Object.values(ERROR_CODES))('%s is documented in docs/errors.md', (code) => {
    expect(doc).toContain(`\`${code}\``);
  });

  it('maps every code to itself', () => {
    for (const [key, value] of Object.entries(ERROR_CODES)) expect(value).toBe(key);
  });

  it('documents every error class', () => {
    for (const [name] of exportedClasses) expect(doc, name).toContain(`\`${name}\``);
  });
});

describe('error classes', () => {
  it('has a representative construction for every exported class', () => {
    expect(exportedClasses.map(([name]) => name).sort()).toEqual(Object.keys(constructions).sort());
  });

  it.each(Object.entries(constructions))('%s sets code and name', (name, { make, code }) => {
    const e = make();
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(ConveyorError);
    expect(e).toBeInstanceOf((errors as unknown as Record<string, new () => Error>)[name]!);
    expect(e.name).toBe(name);
    expect(e.code).toBe(code);
    expect(Object.values(ERROR_CODES)).toContain(e.code);
    expect(e.message.length).toBeGreaterThan(0);
    expect(e.toJSON()).toMatchObject({ code, message: e.message });
    expect(String(e)).toBe(`${name}: ${e.message}`);
  });

  it('ValidationError names the first field and keeps every issue', () => {
    const e = new ValidationError([
      { field: 'items[3].type', message: 'must not be empty' },
      { field: 'items[4].payload', message: 'must be JSON' },
    ]);
    expect(e.field).toBe('items[3].type');
    expect(e.message).toBe('items[3].type: must not be empty (and 1 more)');
    expect(e.issues).toHaveLength(2);
    expect(e.details).toEqual({ issues: e.issues });
    expect(new ValidationError([]).field).toBe('(input)');
  });

  it('carries details and cause', () => {
    const cause = new Error('SQLITE_FULL');
    const e = new ConveyorError('STORE', 'write failed', { cause, details: { table: 'items' } });
    expect(e.cause).toBe(cause);
    expect(e.toJSON()).toEqual({ code: 'STORE', message: 'write failed', details: { table: 'items' } });
    expect(new ConveyorError('CLOSED', 'closed').toJSON()).toEqual({ code: 'CLOSED', message: 'closed' });
    expect(new NonRetryableError('no', { cause }).cause).toBe(cause);
    expect(new NotFoundError('executor', 'e9').details).toEqual({ what: 'executor', id: 'e9' });
    expect(new CycleError(['a', 'b', 'a']).message).toBe('dependency cycle: a → b → a');
    expect(new BudgetExceededError('x', 'toolOps', 11, 10).details).toEqual({
      itemId: 'x',
      key: 'toolOps',
      used: 11,
      limit: 10,
    });
  });

  it('TemplateError names the template, the missing segment and where it stands', () => {
    const e = new TemplateError('{{input.user}}', 'user', 'input has no field "user"', 'to');
    expect(e.message).toBe('{{input.user}} (at to): input has no field "user"');
    expect(e.template).toBe('{{input.user}}');
    expect(e.details).toEqual({ template: '{{input.user}}', segment: 'user', field: 'to' });
    expect(new TemplateError('{{index}}', 'index', 'no index').details).toEqual({
      template: '{{index}}',
      segment: 'index',
    });
  });

  it('RetryAfterError keeps its delay', () => {
    expect(new RetryAfterError('later', 1500).retryAfterMs).toBe(1500);
  });
});

describe('toItemError', () => {
  it('keeps the code, message and name of a ConveyorError', () => {
    expect(toItemError(new NonRetryableError('bad file'))).toEqual({
      code: 'NON_RETRYABLE',
      message: 'bad file',
      name: 'NonRetryableError',
    });
  });

  it('gives a plain Error the fallback code', () => {
    expect(toItemError(new TypeError('x is not a function'))).toEqual({
      code: 'HANDLER_ERROR',
      message: 'x is not a function',
      name: 'TypeError',
    });
    expect(toItemError(new Error('boom'), 'TIMEOUT')).toMatchObject({ code: 'TIMEOUT' });
  });

  it('keeps the string code of an Error that has one', () => {
    const e = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(toItemError(e)).toEqual({ code: 'ECONNRESET', message: 'socket hang up', name: 'Error' });
    const numeric = Object.assign(new Error('odd'), { code: 42 });
    expect(toItemError(numeric).code).toBe('HANDLER_ERROR');
    const empty = Object.assign(new Error('empty'), { code: '' });
    expect(toItemError(empty).code).toBe('HANDLER_ERROR');
  });

  it('uses the name of an Error without a message', () => {
    expect(toItemError(new RangeError())).toEqual({
      code: 'HANDLER_ERROR',
      message: 'RangeError',
      name: 'RangeError',
    });
  });

  it('turns a thrown string into the message', () => {
    expect(toItemError('disk full')).toEqual({ code: 'HANDLER_ERROR', message: 'disk full' });
  });

  it('reads code and message from plain objects', () => {
    expect(toItemError({ code: 'SMTP_DOWN', message: 'connection refused' })).toEqual({
      code: 'SMTP_DOWN',
      message: 'connection refused',
    });
    expect(toItemError({ message: 'no code' })).toEqual({ code: 'HANDLER_ERROR', message: 'no code' });
    expect(toItemError({ status: 500 })).toEqual({ code: 'HANDLER_ERROR', message: '{"status":500}' });
  });

  it('survives objects that cannot be stringified', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(toItemError(circular)).toEqual({ code: 'HANDLER_ERROR', message: '[object Object]' });
  });

  it('turns null, undefined and other values into strings', () => {
    expect(toItemError(null)).toEqual({ code: 'HANDLER_ERROR', message: 'null' });
    expect(toItemError(undefined)).toEqual({ code: 'HANDLER_ERROR', message: 'undefined' });
    expect(toItemError(42)).toEqual({ code: 'HANDLER_ERROR', message: '42' });
    expect(toItemError(false, 'CANCELLED')).toEqual({ code: 'CANCELLED', message: 'false' });
  });

  it('returns JSON without stack traces', () => {
    const out = toItemError(new Error('with a stack'));
    expect(Object.keys(out).sort()).toEqual(['code', 'message', 'name']);
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });
});
