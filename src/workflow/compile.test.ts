/**
 * compileWorkflow: the dependencies it derives (explicit, phases, templates), the order
 * and dependents, every definition error with its field, cycles, and large graphs.
 */
import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/helpers/thrown.js';
import { CycleError, ValidationError } from '../core/errors.js';
import { compileWorkflow, type CompileOptions } from './compile.js';
import type { PhaseDefinition, StepDefinition, WorkflowDefinition } from './definition-types.js';

const wf = (steps: StepDefinition[], more: Partial<WorkflowDefinition> = {}): WorkflowDefinition => ({
  name: 'wf',
  steps,
  ...more,
});
const step = (id: string, more: Partial<StepDefinition> = {}): StepDefinition => ({ id, type: 't', ...more });

const validationError = (definition: WorkflowDefinition, options?: CompileOptions): ValidationError =>
  thrown(ValidationError, () => compileWorkflow(definition, options));
const cycleError = (definition: WorkflowDefinition): CycleError =>
  thrown(CycleError, () => compileWorkflow(definition));

/** Every dependency comes before its dependent in `order`. */
function expectTopological(order: string[], deps: Map<string, { deps: string[] }>): void {
  const at = new Map(order.map((id, i) => [id, i]));
  expect(at.size).toBe(deps.size);
  const late: string[] = [];
  for (const [id, s] of deps)
    for (const d of s.deps) if (!(at.get(d)! < at.get(id)!)) late.push(`${d} → ${id}`);
  expect(late).toEqual([]);
}

describe('compileWorkflow derives', () => {
  it('deps from deps, input, fallback.input, cache.key and map.over; sorted and unique', () => {
    const c = compileWorkflow(
      wf([
        step('z'),
        step('y'),
        step('x'),
        step('w'),
        step('v'),
        step('main', {
          deps: ['z', 'z'],
          input: { a: '{{steps.y.output.a}}', b: ['n={{steps.z.output}}'] },
          fallback: { type: 'f', input: '{{steps.x.output}}' },
          cache: { key: 'k:{{steps.w.output.id}}', ttlMs: 1000 },
          map: { over: '{{steps.v.output.list}}' },
        }),
      ]),
    );
    expect(c.steps.get('main')!.deps).toEqual(['v', 'w', 'x', 'y', 'z']);
    expect(c.steps.get('z')!.dependents).toEqual(['main']);
    expect(c.steps.get('main')!.dependents).toEqual([]);
    expect(c.order.at(-1)).toBe('main');
    expectTopological(c.order, c.steps);
  });

  it('dependents, an order that respects every edge, and the failure policy', () => {
    const c = compileWorkflow(
      wf([
        step('d', { deps: ['b', 'c'] }),
        step('b', { deps: ['a'] }),
        step('c', { deps: ['a'] }),
        step('a'),
      ]),
    );
    expect(c.order).toEqual(['a', 'b', 'c', 'd']);
    expect(c.steps.get('a')!.dependents).toEqual(['b', 'c']);
    expect(c.steps.get('d')!.def).toEqual(step('d', { deps: ['b', 'c'] }));
    expect(c.onStepFailure).toBe('failFast');
    expect(compileWorkflow(wf([step('a')], { onStepFailure: 'continue' })).onStepFailure).toBe('continue');
  });

  it('phase deps: each step of a phase depends on every step of the phases it dependsOn', () => {
    const phases: PhaseDefinition[] = [
      { id: 'load' },
      { id: 'other' },
      { id: 'transform', dependsOn: ['load', 'other'] },
      { id: 'ship', dependsOn: ['transform'] },
    ];
    const c = compileWorkflow(
      wf(
        [
          step('ship1', { phase: 'ship' }),
          step('t1', { phase: 'transform' }),
          step('t2', { phase: 'transform', deps: ['free'] }),
          step('l1', { phase: 'load' }),
          step('l2', { phase: 'load' }),
          step('o1', { phase: 'other' }),
          step('free'),
        ],
        { phases },
      ),
    );
    expect(c.steps.get('t1')!.deps).toEqual(['l1', 'l2', 'o1']);
    expect(c.steps.get('t2')!.deps).toEqual(['free', 'l1', 'l2', 'o1']);
    expect(c.steps.get('ship1')!.deps).toEqual(['t1', 't2']);
    expect(c.steps.get('l1')!.deps).toEqual([]);
    expect(c.steps.get('free')!.dependents).toEqual(['t2']);
    expectTopological(c.order, c.steps);
  });

  it('an empty phase passes its own dependencies through', () => {
    const phases = [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['b'] }];
    const c = compileWorkflow(wf([step('a1', { phase: 'a' }), step('c1', { phase: 'c' })], { phases }));
    expect(c.steps.get('c1')!.deps).toEqual(['a1']);
  });

  it('item and index are allowed in a map step’s input, fallback.input and cache.key', () => {
    const c = compileWorkflow(
      wf([
        step('src'),
        step('each', {
          input: { u: '{{item}}', i: '{{index}}' },
          fallback: { type: 'f', input: '{{item.id}}' },
          cache: { key: 'u:{{item.id}}', ttlMs: 1 },
          map: { over: '{{ steps.src.output.users }}' },
        }),
        step('byInput', { map: { over: '{{input.list}}' } }),
      ]),
    );
    expect(c.steps.get('each')!.deps).toEqual(['src']);
    expect(c.steps.get('byInput')!.deps).toEqual([]);
  });
});

describe('compileWorkflow refuses, naming the field', () => {
  const cases: [string, WorkflowDefinition, string, RegExp, CompileOptions?][] = [
    [
      'a duplicate step id',
      wf([step('a'), step('b'), step('a')]),
      'steps[2].id',
      /duplicate step id "a" \(also steps\[0\]\)/,
    ],
    [
      'a duplicate phase id',
      wf([step('a')], { phases: [{ id: 'p' }, { id: 'p' }] }),
      'phases[1].id',
      /duplicate phase id "p"/,
    ],
    [
      'a dep on an unknown step',
      wf([step('a'), step('b'), step('c'), step('d', { deps: ['nope'] })]),
      'steps[3].deps[0]',
      /unknown step "nope"/,
    ],
    [
      'a step depending on itself',
      wf([step('a', { deps: ['a'] })]),
      'steps[0].deps[0]',
      /cannot depend on itself/,
    ],
    ['a step on an unknown phase', wf([step('a', { phase: 'p' })]), 'steps[0].phase', /unknown phase "p"/],
    [
      'a phase depending on an unknown phase',
      wf([step('a')], { phases: [{ id: 'p', dependsOn: ['q'] }] }),
      'phases[0].dependsOn[0]',
      /unknown phase "q"/,
    ],
    [
      'a phase depending on itself',
      wf([step('a')], { phases: [{ id: 'p', dependsOn: ['p'] }] }),
      'phases[0].dependsOn[0]',
      /cannot depend on itself/,
    ],
    [
      'a template naming an unknown step',
      wf([step('a'), step('b'), step('c', { input: { user: '{{steps.nope.output.user}}' } })]),
      'steps[2].input.user',
      /refers to unknown step nope/,
    ],
    [
      'a template naming its own step',
      wf([step('a', { input: ['{{steps.a.output}}'] })]),
      'steps[0].input[0]',
      /own output/,
    ],
    [
      'item outside a map step',
      wf([step('a', { input: { x: '{{item.id}}' } })]),
      'steps[0].input.x',
      /only defined in a map step/,
    ],
    [
      'index in the fallback of a plain step',
      wf([step('a', { fallback: { type: 'f', input: { i: '{{index}}' } } })]),
      'steps[0].fallback.input.i',
      /only defined in a map step/,
    ],
    [
      'item in a cache key of a plain step',
      wf([step('a', { cache: { key: 'k{{item}}', ttlMs: 1 } })]),
      'steps[0].cache.key',
      /only defined in a map step/,
    ],
    [
      'item in map.over',
      wf([step('a', { map: { over: '{{item.list}}' } })]),
      'steps[0].map.over',
      /come from map.over itself/,
    ],
    [
      'an unknown step in map.over',
      wf([step('a', { map: { over: '{{steps.nope.output}}' } })]),
      'steps[0].map.over',
      /unknown step nope/,
    ],
    [
      'a plain-text map.over',
      wf([step('a', { map: { over: 'users' } })]),
      'steps[0].map.over',
      /exactly one template/,
    ],
    [
      'a map.over with text around its template',
      wf([step('a', { map: { over: ' {{input.list}}' } })]),
      'steps[0].map.over',
      /exactly one template/,
    ],
    [
      'a map.over with two templates',
      wf([step('a', { map: { over: '{{input.a}}{{input.b}}' } })]),
      'steps[0].map.over',
      /exactly one template/,
    ],
    [
      'a malformed template',
      wf([step('a'), step('b', { input: { a: { b: 'x {{steps.}}' } } })]),
      'steps[1].input.a.b',
      /malformed template \{\{steps.\}\}/,
    ],
    [
      'an undeclared resource',
      wf([step('a', { resources: ['db', 'cache'] })], { resources: ['db'] }),
      'steps[0].resources[1]',
      /resource "cache" is not declared/,
    ],
    [
      'a resource hasResource does not know',
      wf([step('a', { resources: ['db'] })]),
      'steps[0].resources[0]',
      /resource "db" is not declared/,
      { hasResource: (name) => name === 'cache' },
    ],
  ];

  it.each(cases)('%s', (_, definition, field, message, options) => {
    const e = validationError(definition, options);
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
  });

  it('accepts resources declared in the definition or known to hasResource', () => {
    const definition = wf([step('a', { resources: ['db', 'cache'] })], { resources: ['db'] });
    expect(() => compileWorkflow(definition, { hasResource: (n) => n === 'cache' })).not.toThrow();
  });

  it('reports several problems at once, up to ten', () => {
    const e = validationError(wf([step('a', { deps: ['x'], phase: 'p' }), step('a')]));
    expect(e.issues.map((i) => i.field)).toEqual(['steps[1].id', 'steps[0].phase', 'steps[0].deps[0]']);
    const many = wf(Array.from({ length: 50 }, (_, i) => step(`s${i}`, { deps: ['nope'] })));
    expect(validationError(many).issues).toHaveLength(10);
  });
});

describe('compileWorkflow names cycles', () => {
  it('among explicit deps', () => {
    const e = cycleError(
      wf([step('start'), step('a', { deps: ['b'] }), step('b', { deps: ['c'] }), step('c', { deps: ['a'] })]),
    );
    expect(e.message).toBe('dependency cycle: a → b → c → a');
    expect(e.details).toEqual({ cycle: ['a', 'b', 'c', 'a'] });
  });

  it('through a template', () => {
    const e = cycleError(wf([step('a', { input: { x: '{{steps.b.output}}' } }), step('b', { deps: ['a'] })]));
    expect(e.message).toBe('dependency cycle: a → b → a');
  });

  it('through phases', () => {
    const phases = [{ id: 'first' }, { id: 'second', dependsOn: ['first'] }];
    const e = cycleError(
      wf([step('early', { phase: 'first', deps: ['late'] }), step('late', { phase: 'second' })], { phases }),
    );
    expect(e.message).toBe('dependency cycle: early → late → early');
  });

  it('among phases, with phase ids', () => {
    const phases = [
      { id: 'p1', dependsOn: ['p3'] },
      { id: 'p2', dependsOn: ['p1'] },
      { id: 'p3', dependsOn: ['p2'] },
    ];
    const e = cycleError(wf([step('a', { phase: 'p1' })], { phases }));
    expect(e.message).toBe('dependency cycle: p1 → p3 → p2 → p1');
  });

  it('in a 10,000-step loop', () => {
    const steps = Array.from({ length: 10_000 }, (_, i) => step(`s${i}`, { deps: [`s${(i + 1) % 10_000}`] }));
    expect(cycleError(wf(steps)).details!.cycle).toHaveLength(10_001);
  });
});

describe('compileWorkflow on large graphs', () => {
  it('a 1,000-step chain of templates', () => {
    const steps = Array.from({ length: 1000 }, (_, i) =>
      step(`s${i}`, i === 0 ? {} : { input: { prev: `{{steps.s${i - 1}.output.value}}` } }),
    );
    const c = compileWorkflow(wf(steps.reverse()));
    expect(c.order).toEqual(Array.from({ length: 1000 }, (_, i) => `s${i}`));
  });

  it('a 1 → 1,000 → 1 fan', () => {
    const middle = Array.from({ length: 1000 }, (_, i) => step(`m${i}`, { deps: ['root'] }));
    const c = compileWorkflow(wf([step('root'), ...middle, step('join', { deps: middle.map((s) => s.id) })]));
    expect(c.steps.get('root')!.dependents).toHaveLength(1000);
    expect(c.steps.get('join')!.deps).toHaveLength(1000);
    expect(c.order[0]).toBe('root');
    expect(c.order.at(-1)).toBe('join');
  });

  it('10,000 steps in two phases of 10 and 9,990', () => {
    const phases = [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }];
    const steps = Array.from({ length: 10_000 }, (_, i) => step(`s${i}`, { phase: i < 10 ? 'a' : 'b' }));
    const c = compileWorkflow(wf(steps, { phases }));
    expect(c.steps.get('s9999')!.deps).toHaveLength(10);
    expect(c.steps.get('s0')!.dependents).toHaveLength(9990);
    expectTopological(c.order, c.steps);
  });
});
