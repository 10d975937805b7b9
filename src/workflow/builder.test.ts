/**
 * WorkflowBuilder: build() gives exactly the JSON definition format, connect() compiles
 * to a template plus a dependency, resources are declared, and a bad workflow fails at
 * build time with the field (or the cycle) named.
 */
import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/helpers/thrown.js';
import { CycleError, ValidationError } from '../core/errors.js';
import { WorkflowBuilder, type StepOptions } from './builder.js';
import type { WorkflowDefinition } from './definition-types.js';

const buildError = (builder: WorkflowBuilder): ValidationError =>
  thrown(ValidationError, () => builder.build());

describe('WorkflowBuilder.build', () => {
  const openDb = (): { query: () => void } => ({ query: () => undefined });

  it('gives the hand-written JSON definition, which survives a JSON round trip', () => {
    const built = new WorkflowBuilder('reports/weekly')
      .resource('db', openDb)
      .onStepFailure('continue')
      .phase('gather', { name: 'Gather data' })
      .phase('publish', { dependsOn: ['gather'] })
      .step('fetch', 'http.get', {
        phase: 'gather',
        input: { url: '{{input.source}}' },
        retry: { maxRetries: 5 },
      })
      .step('users', 'db.users', { phase: 'gather', resources: ['db'] })
      .step('render', 'report.render', {
        phase: 'publish',
        input: { title: 'Week {{input.week}}' },
        timeoutMs: 30_000,
      })
      .connect('fetch', 'body.rows', 'render', 'rows')
      .connect('users', 'list', 'render', 'users')
      .step('mail', 'mail.send', {
        map: { over: '{{steps.users.output.list}}', concurrency: 5 },
        input: { to: '{{item.email}}', n: '{{index}}' },
        rateLimit: { key: 'smtp', perSecond: 10 },
      })
      .build();

    const expected: WorkflowDefinition = JSON.parse(`{
      "name": "reports/weekly",
      "onStepFailure": "continue",
      "phases": [
        { "id": "gather", "name": "Gather data" },
        { "id": "publish", "dependsOn": ["gather"] }
      ],
      "steps": [
        { "id": "fetch", "type": "http.get", "phase": "gather", "input": { "url": "{{input.source}}" },
          "retry": { "maxRetries": 5 } },
        { "id": "users", "type": "db.users", "phase": "gather", "resources": ["db"] },
        { "id": "render", "type": "report.render", "phase": "publish", "timeoutMs": 30000,
          "input": { "title": "Week {{input.week}}", "rows": "{{steps.fetch.output.body.rows}}",
                     "users": "{{steps.users.output.list}}" },
          "deps": ["fetch", "users"] },
        { "id": "mail", "type": "mail.send", "map": { "over": "{{steps.users.output.list}}", "concurrency": 5 },
          "input": { "to": "{{item.email}}", "n": "{{index}}" }, "rateLimit": { "key": "smtp", "perSecond": 10 } }
      ],
      "resources": ["db"]
    }`) as WorkflowDefinition;
    expect(built).toStrictEqual(expected);
    expect(JSON.parse(JSON.stringify(built))).toStrictEqual(built);
  });

  it('the least workflow is a name and a step', () => {
    expect(new WorkflowBuilder('w').step('a', 't').build()).toStrictEqual({
      name: 'w',
      steps: [{ id: 'a', type: 't' }],
    });
  });

  it('is detached from the objects passed in, and can build again', () => {
    const input = { a: { b: 1 } };
    const builder = new WorkflowBuilder('w')
      .step('x', 't')
      .step('y', 't', { input })
      .connect('x', 'v', 'y', 'v');
    const first = builder.build();
    input.a.b = 2;
    expect(input).toEqual({ a: { b: 2 } });
    expect(first.steps[1]!.input).toEqual({ a: { b: 1 }, v: '{{steps.x.output.v}}' });
    expect(builder.build().steps[1]).toEqual({
      ...first.steps[1],
      input: { a: { b: 2 }, v: '{{steps.x.output.v}}' },
    });
  });

  it('drops options a JavaScript caller left undefined', () => {
    const options = { retry: undefined, input: { a: 1 } } as unknown as StepOptions;
    expect(new WorkflowBuilder('w').step('a', 't', options).build().steps[0]).toStrictEqual({
      id: 'a',
      type: 't',
      input: { a: 1 },
    });
  });

  it('checks the shape, naming the field', () => {
    const e = buildError(new WorkflowBuilder('w').step('a', 't').step('b.c', 't'));
    expect(e.field).toBe('steps[1].id');
    expect(buildError(new WorkflowBuilder('w')).field).toBe('steps');
    expect(buildError(new WorkflowBuilder('w').step('a', 't', { timeoutMs: 0 })).field).toBe(
      'steps[0].timeoutMs',
    );
  });

  it('checks the graph: unknown deps, bad templates, cycles', () => {
    expect(buildError(new WorkflowBuilder('w').step('a', 't', { deps: ['zz'] })).field).toBe(
      'steps[0].deps[0]',
    );
    const badRef = new WorkflowBuilder('w').step('a', 't', { input: { u: '{{steps.zz.output}}' } });
    expect(buildError(badRef).field).toBe('steps[0].input.u');
    const loop = new WorkflowBuilder('w')
      .step('a', 't', { deps: ['b'] })
      .step('b', 't')
      .connect('a', 'x', 'b', 'x');
    expect(() => loop.build()).toThrow(CycleError);
    expect(() => loop.build()).toThrow('dependency cycle: a → b → a');
  });
});

describe('WorkflowBuilder.connect', () => {
  it('adds the template and the dependency, once, even before the target step is declared', () => {
    const def = new WorkflowBuilder('w')
      .connect('a', 'user.emails.0', 'b', 'to')
      .connect('a', 'user.name', 'b', 'name')
      .step('a', 't')
      .step('b', 't', { deps: ['a'] })
      .build();
    expect(def.steps[1]).toStrictEqual({
      id: 'b',
      type: 't',
      deps: ['a'],
      input: { to: '{{steps.a.output.user.emails.0}}', name: '{{steps.a.output.user.name}}' },
    });
  });

  const cases: [string, (b: WorkflowBuilder) => WorkflowBuilder, string, RegExp][] = [
    [
      'to an undefined step',
      (b) => b.step('a', 't').connect('a', 'x', 'nope', 'x'),
      'toStep',
      /step nope is not defined/,
    ],
    [
      'from an undefined step',
      (b) => b.step('a', 't').connect('nope', 'x', 'a', 'x'),
      'fromStep',
      /step nope is not defined/,
    ],
    [
      'into an input that is not an object',
      (b) =>
        b
          .step('a', 't')
          .step('b', 't', { input: ['x'] })
          .connect('a', 'x', 'b', 'x'),
      'toStep',
      /must be an object/,
    ],
    [
      'into a parameter already set',
      (b) =>
        b
          .step('a', 't')
          .step('b', 't', { input: { x: 1 } })
          .connect('a', 'x', 'b', 'x'),
      'inputParam',
      /already has "x"/,
    ],
    [
      'into an empty parameter',
      (b) => b.step('a', 't').step('b', 't').connect('a', 'x', 'b', ''),
      'inputParam',
      /empty/,
    ],
  ];

  it.each(cases)('refuses a connection %s at build time', (_, make, field, message) => {
    const builder = make(new WorkflowBuilder('w'));
    const e = buildError(builder);
    expect(e.field).toBe(`connections[0].${field}`);
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/connect\(/);
  });

  it('refuses a malformed output path through the template check', () => {
    const e = buildError(
      new WorkflowBuilder('w').step('a', 't').step('b', 't').connect('a', 'x..y', 'b', 'v'),
    );
    expect(e.field).toBe('steps[1].input.v');
    expect(e.message).toMatch(/malformed template/);
  });
});

describe('WorkflowBuilder resources', () => {
  it('declares the name in the definition and keeps the factory', () => {
    const factory = (): string => 'pool';
    const builder = new WorkflowBuilder('w').resource('db', factory).step('a', 't', { resources: ['db'] });
    expect(builder.build().resources).toEqual(['db']);
    expect([...builder.resourceFactories]).toEqual([['db', factory]]);
  });

  it('refuses a step resource that was not declared, unless hasResource knows it', () => {
    const e = buildError(new WorkflowBuilder('w').step('a', 't', { resources: ['cache'] }));
    expect(e.field).toBe('steps[0].resources[0]');
    const known = new WorkflowBuilder('w', { hasResource: (n) => n === 'cache' }).step('a', 't', {
      resources: ['cache'],
    });
    expect(known.build().resources).toBeUndefined();
  });

  it('refuses a resource declared twice', () => {
    const builder = new WorkflowBuilder('w').resource('db', () => 1);
    expect(() => builder.resource('db', () => 2)).toThrow(/declared twice/);
  });
});
