/**
 * The definition schema: what it accepts (every field, at its bounds), what it refuses
 * and the field it names, the step-kind exclusions, and the committed JSON Schema.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/helpers/thrown.js';
import { ValidationError } from '../core/errors.js';
import type { WorkflowDefinition } from './definition-types.js';
import { parseWorkflowDefinition, workflowJsonSchema } from './definition.js';

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

const rejection = (input: unknown): ValidationError =>
  thrown(ValidationError, () => parseWorkflowDefinition(input));

/** A one-step workflow whose step has `fields` added. */
const withStep = (fields: Record<string, unknown>): unknown => ({
  name: 'wf',
  steps: [{ id: 'a', type: 't', ...fields }],
});

const full: WorkflowDefinition = {
  name: 'orders/nightly',
  onStepFailure: 'continue',
  phases: [{ id: 'load' }, { id: 'ship', name: 'Ship it', dependsOn: ['load'] }],
  steps: [
    {
      id: 'fetch',
      type: 'http.get',
      input: { url: 'https://example.com', page: 1, tags: ['a', null, true], nested: { x: [{}] } },
      deps: [],
      phase: 'load',
      requiredCapabilities: ['net'],
      priority: 'high',
      queue: 'io',
      retry: { maxRetries: 0, backoff: { type: 'linear', baseMs: 0, maxMs: TEN_YEARS_MS, jitter: 1 } },
      timeoutMs: TEN_YEARS_MS,
      fallback: { type: 'http.cached', input: '{{input}}' },
      rateLimit: { key: 'example.com', perSecond: 0.5, burst: 1 },
      circuitBreaker: { key: 'example.com', failureThreshold: 1, resetTimeoutMs: 1 },
      cache: { key: 'page:{{ input.page }}', ttlMs: 60_000 },
      resources: ['http'],
    },
    {
      id: 'each_user-1',
      type: 'user.process',
      input: { user: '{{item}}', at: '{{index}}' },
      phase: 'ship',
      priority: -5,
      map: {
        over: '{{steps.fetch.output.users}}',
        concurrency: 10_000,
        continueOnError: true,
        itemTimeoutMs: 1,
      },
    },
    { id: 'notify', type: 'mail', batch: { size: 10_000, flushMs: 500 } },
    { id: 'approval', type: 'approval', waitForEvent: { name: 'approved', timeoutMs: 1000 } },
  ],
  resources: ['db'],
};

describe('parseWorkflowDefinition accepts', () => {
  it('every field at its bounds, unchanged', () => {
    expect(parseWorkflowDefinition(full)).toEqual(full);
  });

  it('the least definition: a name and one step', () => {
    expect(parseWorkflowDefinition({ name: 'w', steps: [{ id: 's', type: 't' }] })).toEqual({
      name: 'w',
      steps: [{ id: 's', type: 't' }],
    });
  });

  it('10,000 steps and 1,000 phases, with 1,000 deps on a step', () => {
    const steps = Array.from({ length: 10_000 }, (_, i) => ({ id: `s${i}`, type: 't' }));
    steps[0] = { ...steps[0]!, deps: steps.slice(1, 1001).map((s) => s.id) } as (typeof steps)[0];
    const phases = Array.from({ length: 1000 }, (_, i) => ({ id: `p${i}` }));
    expect(parseWorkflowDefinition({ name: 'big', steps, phases }).steps).toHaveLength(10_000);
  });
});

describe('parseWorkflowDefinition refuses, naming the field', () => {
  const long = 'x'.repeat(101);
  const cases: [string, unknown, string, RegExp?][] = [
    ['no name', { steps: [{ id: 'a', type: 't' }] }, 'name'],
    ['a name with a space', { name: 'a b', steps: [{ id: 'a', type: 't' }] }, 'name'],
    ['no steps', { name: 'w', steps: [] }, 'steps', /at least one step/],
    ['an unknown top-level field', { name: 'w', steps: [{ id: 'a', type: 't' }], extra: 1 }, 'extra'],
    [
      'an unknown policy',
      { name: 'w', onStepFailure: 'retry', steps: [{ id: 'a', type: 't' }] },
      'onStepFailure',
    ],
    ['a step id with a dot', { name: 'w', steps: [{ id: 'a.b', type: 't' }] }, 'steps[0].id', /no dots/],
    ['a step id of 101 characters', { name: 'w', steps: [{ id: long, type: 't' }] }, 'steps[0].id'],
    ['a step without a type', { name: 'w', steps: [{ id: 'a' }] }, 'steps[0].type'],
    ['an unknown step field', withStep({ bogus: 1 }), 'steps[0].bogus', /not a known field/],
    ['input that is not JSON', withStep({ input: { n: Number.NaN } }), 'steps[0].input'],
    ['an explicit undefined', withStep({ retry: undefined }), 'steps[0].retry'],
    ['an explicit undefined input', withStep({ input: undefined }), 'steps[0].input'],
    ['a dep with a dot', withStep({ deps: ['x.y'] }), 'steps[0].deps[0]'],
    ['1,001 deps', withStep({ deps: Array.from({ length: 1001 }, (_, i) => `d${i}`) }), 'steps[0].deps'],
    ['a step phase with a dot', withStep({ phase: 'p.1' }), 'steps[0].phase'],
    ['a bad queue', withStep({ queue: 'a queue' }), 'steps[0].queue'],
    ['an empty capability', withStep({ requiredCapabilities: [''] }), 'steps[0].requiredCapabilities[0]'],
    ['an unknown priority name', withStep({ priority: 'urgent' }), 'steps[0].priority'],
    ['a fractional priority', withStep({ priority: 1.5 }), 'steps[0].priority'],
    ['negative retries', withStep({ retry: { maxRetries: -1 } }), 'steps[0].retry.maxRetries'],
    ['1,001 retries', withStep({ retry: { maxRetries: 1001 } }), 'steps[0].retry.maxRetries'],
    ['an unknown retry field', withStep({ retry: { tries: 3 } }), 'steps[0].retry.tries'],
    [
      'an unknown backoff',
      withStep({ retry: { backoff: { type: 'random' } } }),
      'steps[0].retry.backoff.type',
    ],
    ['a boolean jitter', withStep({ retry: { backoff: { jitter: true } } }), 'steps[0].retry.backoff.jitter'],
    [
      'maxMs below baseMs',
      withStep({ retry: { backoff: { baseMs: 10, maxMs: 5 } } }),
      'steps[0].retry.backoff.maxMs',
      /at least baseMs/,
    ],
    ['a zero timeout', withStep({ timeoutMs: 0 }), 'steps[0].timeoutMs'],
    ['a fractional timeout', withStep({ timeoutMs: 1.5 }), 'steps[0].timeoutMs'],
    ['a timeout over ten years', withStep({ timeoutMs: TEN_YEARS_MS + 1 }), 'steps[0].timeoutMs'],
    ['a fallback without a type', withStep({ fallback: { input: 1 } }), 'steps[0].fallback.type'],
    [
      'a fallback input that is not JSON',
      withStep({ fallback: { type: 'f', input: { f: () => 1 } } }),
      'steps[0].fallback.input',
    ],
    ['a zero rate', withStep({ rateLimit: { key: 'k', perSecond: 0 } }), 'steps[0].rateLimit.perSecond'],
    [
      'an infinite rate',
      withStep({ rateLimit: { key: 'k', perSecond: Infinity } }),
      'steps[0].rateLimit.perSecond',
    ],
    [
      'a rate over 1e6',
      withStep({ rateLimit: { key: 'k', perSecond: 1e6 + 1 } }),
      'steps[0].rateLimit.perSecond',
    ],
    [
      'a zero burst',
      withStep({ rateLimit: { key: 'k', perSecond: 1, burst: 0 } }),
      'steps[0].rateLimit.burst',
    ],
    ['a bad rate-limit key', withStep({ rateLimit: { key: 'a b', perSecond: 1 } }), 'steps[0].rateLimit.key'],
    [
      'a zero failure threshold',
      withStep({ circuitBreaker: { key: 'k', failureThreshold: 0, resetTimeoutMs: 1 } }),
      'steps[0].circuitBreaker.failureThreshold',
    ],
    [
      'a breaker without a reset timeout',
      withStep({ circuitBreaker: { key: 'k', failureThreshold: 1 } }),
      'steps[0].circuitBreaker.resetTimeoutMs',
    ],
    ['a zero cache ttl', withStep({ cache: { key: 'k', ttlMs: 0 } }), 'steps[0].cache.ttlMs'],
    ['an empty cache key', withStep({ cache: { key: '', ttlMs: 1 } }), 'steps[0].cache.key'],
    ['a map without over', withStep({ map: {} }), 'steps[0].map.over'],
    [
      'a zero map concurrency',
      withStep({ map: { over: '{{input}}', concurrency: 0 } }),
      'steps[0].map.concurrency',
    ],
    [
      'a map concurrency over 10,000',
      withStep({ map: { over: '{{input}}', concurrency: 10_001 } }),
      'steps[0].map.concurrency',
    ],
    ['a batch over 10,000', withStep({ batch: { size: 10_001, flushMs: 1 } }), 'steps[0].batch.size'],
    ['a zero flush', withStep({ batch: { size: 1, flushMs: 0 } }), 'steps[0].batch.flushMs'],
    ['an event without a name', withStep({ waitForEvent: {} }), 'steps[0].waitForEvent.name'],
    ['a bad step resource', withStep({ resources: ['a b'] }), 'steps[0].resources[0]'],
    [
      'a bad workflow resource',
      { name: 'w', steps: [{ id: 'a', type: 't' }], resources: [''] },
      'resources[0]',
    ],
    [
      'a phase id with a dot',
      { name: 'w', phases: [{ id: 'a.b' }], steps: [{ id: 'a', type: 't' }] },
      'phases[0].id',
    ],
    [
      'an unknown phase field',
      { name: 'w', phases: [{ id: 'p', after: [] }], steps: [{ id: 'a', type: 't' }] },
      'phases[0].after',
    ],
    [
      'a bad phase dependency',
      { name: 'w', phases: [{ id: 'p', dependsOn: ['x y'] }], steps: [{ id: 'a', type: 't' }] },
      'phases[0].dependsOn[0]',
    ],
  ];

  it.each(cases)('%s', (_, input, field, message) => {
    const e = rejection(input);
    expect(e.field).toBe(field);
    if (message) expect(e.message).toMatch(message);
  });

  it('more than 10,000 steps or 1,000 phases', () => {
    const steps = Array.from({ length: 10_001 }, (_, i) => ({ id: `s${i}`, type: 't' }));
    expect(rejection({ name: 'w', steps }).field).toBe('steps');
    const phases = Array.from({ length: 1001 }, (_, i) => ({ id: `p${i}` }));
    expect(rejection({ name: 'w', steps: [{ id: 'a', type: 't' }], phases }).field).toBe('phases');
  });

  it('names the step by its position', () => {
    const steps = [
      { id: 'a', type: 't' },
      { id: 'b', type: 't' },
      { id: 'c', type: 't', retry: { maxRetries: 1.5 } },
    ];
    expect(rejection({ name: 'w', steps }).field).toBe('steps[2].retry.maxRetries');
  });
});

describe('step kinds that do not combine', () => {
  const map = { over: '{{input.list}}' };
  const waitForEvent = { name: 'approved' };
  const cases: [string, Record<string, unknown>, string][] = [
    ['map + waitForEvent', { map, waitForEvent }, 'waitForEvent'],
    ['waitForEvent + cache', { waitForEvent, cache: { key: 'k', ttlMs: 1 } }, 'cache'],
    ['waitForEvent + batch', { waitForEvent, batch: { size: 2, flushMs: 10 } }, 'batch'],
    ['waitForEvent + rateLimit', { waitForEvent, rateLimit: { key: 'k', perSecond: 1 } }, 'rateLimit'],
    [
      'waitForEvent + circuitBreaker',
      { waitForEvent, circuitBreaker: { key: 'k', failureThreshold: 1, resetTimeoutMs: 1 } },
      'circuitBreaker',
    ],
    ['waitForEvent + fallback', { waitForEvent, fallback: { type: 'f' } }, 'fallback'],
    ['waitForEvent + retry', { waitForEvent, retry: { maxRetries: 1 } }, 'retry'],
  ];

  it.each(cases)('%s is refused on the field that does not fit', (_, fields, field) => {
    const e = rejection(withStep(fields));
    expect(e.field).toBe(`steps[0].${field}`);
    expect(e.message).toMatch(/cannot be combined with (map|waitForEvent)/);
  });

  it('a map step may have a cache, retry, rate limit and fallback', () => {
    const step = {
      map,
      cache: { key: '{{item.id}}', ttlMs: 1 },
      retry: { maxRetries: 1 },
      rateLimit: { key: 'k', perSecond: 1 },
      fallback: { type: 'f' },
    };
    expect(() => parseWorkflowDefinition(withStep(step))).not.toThrow();
  });

  it('the JSON Schema carries the same exclusions', () => {
    const steps = (workflowJsonSchema().properties as Record<string, { items: { allOf: unknown[] } }>).steps!;
    expect(steps.items.allOf).toHaveLength(cases.length);
    for (const [, fields] of cases) {
      expect(steps.items.allOf).toContainEqual({ not: { required: Object.keys(fields) } });
    }
  });
});

describe('workflowJsonSchema', () => {
  const file = new URL('../../docs/workflow-definition.schema.json', import.meta.url);

  it('is draft 2020-12 with strict objects', () => {
    const schema = workflowJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['name', 'steps']);
  });

  it('matches docs/workflow-definition.schema.json', () => {
    const committed = readFileSync(file, 'utf8');
    const current = `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`;
    expect(
      committed === current,
      'docs/workflow-definition.schema.json is out of date: run `npm run schema:workflow` and commit it',
    ).toBe(true);
  });
});
