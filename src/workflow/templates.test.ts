/**
 * Templates: what parses (roots, paths, spaces), what is malformed, where each use is
 * reported, and how resolution treats whole-string templates, interpolation, map scope
 * and missing paths.
 */
import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/helpers/thrown.js';
import { TemplateError, ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';
import { findTemplates, resolveTemplates, stepsReferenced, type TemplateScope } from './templates.js';

const scope: TemplateScope = {
  input: { user: { name: 'Ada', tags: ['x', 'y'] }, count: 3, nothing: null, '2024': 'leap' },
  steps: {
    fetch: { users: [{ id: 1 }, { id: 2 }], total: 2 },
    'load-db': 'done',
    empty: null,
  },
};

const templateError = (value: JsonValue): TemplateError =>
  thrown(TemplateError, () => resolveTemplates(value, scope));

describe('findTemplates', () => {
  it('finds every root, with its path and where it stands', () => {
    const value = {
      a: '{{input}}',
      b: ['{{ input.user.name }}', { c: 'n={{steps.fetch.output.users.0.id}}, m={{steps.load-db.output}}' }],
      d: '{{item}} {{item.id}} {{index}}',
      e: 42,
    };
    expect(findTemplates(value, 'steps[1].input')).toEqual([
      { template: '{{input}}', ref: { root: 'input', path: [] }, field: 'steps[1].input.a' },
      {
        template: '{{ input.user.name }}',
        ref: { root: 'input', path: ['user', 'name'] },
        field: 'steps[1].input.b[0]',
      },
      {
        template: '{{steps.fetch.output.users.0.id}}',
        ref: { root: 'steps', stepId: 'fetch', path: ['users', '0', 'id'] },
        field: 'steps[1].input.b[1].c',
      },
      {
        template: '{{steps.load-db.output}}',
        ref: { root: 'steps', stepId: 'load-db', path: [] },
        field: 'steps[1].input.b[1].c',
      },
      { template: '{{item}}', ref: { root: 'item', path: [] }, field: 'steps[1].input.d' },
      { template: '{{item.id}}', ref: { root: 'item', path: ['id'] }, field: 'steps[1].input.d' },
      { template: '{{index}}', ref: { root: 'index' }, field: 'steps[1].input.d' },
    ]);
  });

  it('reports fields relative to the value without a prefix', () => {
    expect(findTemplates({ user: { name: '{{input.n}}' } }).map((u) => u.field)).toEqual(['user.name']);
    expect(findTemplates('{{input}}').map((u) => u.field)).toEqual(['(input)']);
  });

  it('ignores keys and plain text, single braces included', () => {
    expect(findTemplates({ '{{input}}': 'a { b } c}} {x}', n: null, t: true })).toEqual([]);
  });

  const malformed: [string, RegExp][] = [
    ['{{steps.}}', /expected steps.<stepId>.output/],
    ['{{steps.fetch}}', /expected steps.<stepId>.output/],
    ['{{steps.fetch.result}}', /expected steps.<stepId>.output/],
    ['{{steps.a.b.output}}', /expected steps.<stepId>.output/],
    ['{{foo}}', /starts with "foo"/],
    ['{{}}', /is empty/],
    ['{{  }}', /is empty/],
    ['{{input.}}', /path segments/],
    ['{{input..a}}', /path segments/],
    ['{{input.a-b}}', /path segments/],
    ['{{input.01}}', /path segments/],
    ['{{input.-1}}', /path segments/],
    ['{{input .a}}', /starts with "input "/],
    ['{{index.0}}', /index takes no path/],
    ['{{item.a b}}', /path segments/],
    ['text {{input.a', /is not closed/],
    ['{{input}} and {{', /is not closed/],
  ];

  it.each(malformed)('refuses %s as a definition error naming the field', (template, why) => {
    const error = thrown(ValidationError, () => findTemplates({ list: ['ok', template] }, 'steps[0].input'));
    expect(error.field).toBe('steps[0].input.list[1]');
    expect(error.message).toMatch(/malformed template/);
    expect(error.message).toMatch(why);
  });
});

describe('stepsReferenced', () => {
  it('is the set of step ids whose outputs are used', () => {
    const value = [
      '{{steps.a.output}}',
      { x: '{{steps.b.output.y}}-{{steps.a.output.z}}' },
      '{{input.steps}}',
    ];
    expect(stepsReferenced(value)).toEqual(new Set(['a', 'b']));
    expect(stepsReferenced({ plain: 'text' })).toEqual(new Set());
  });
});

describe('resolveTemplates', () => {
  it('gives the raw value, of any JSON type, for a string that is exactly one template', () => {
    expect(resolveTemplates('{{input}}', scope)).toEqual(scope.input);
    expect(resolveTemplates('{{ input.count }}', scope)).toBe(3);
    expect(resolveTemplates('{{input.nothing}}', scope)).toBeNull();
    expect(resolveTemplates('{{steps.fetch.output.users}}', scope)).toEqual([{ id: 1 }, { id: 2 }]);
    expect(resolveTemplates('{{steps.fetch.output.users.1.id}}', scope)).toBe(2);
    expect(resolveTemplates('{{steps.empty.output}}', scope)).toBeNull();
    expect(resolveTemplates('{{input.2024}}', scope)).toBe('leap');
  });

  it('interpolates templates among other text: strings as they are, other values as JSON', () => {
    expect(resolveTemplates('Hi {{input.user.name}}!', scope)).toBe('Hi Ada!');
    expect(resolveTemplates('{{input.count}} users', scope)).toBe('3 users');
    expect(resolveTemplates('tags={{input.user.tags}} none={{input.nothing}}', scope)).toBe(
      'tags=["x","y"] none=null',
    );
    expect(resolveTemplates('{{input.user.name}}{{input.count}}', scope)).toBe('Ada3');
    expect(resolveTemplates(' {{input.count}}', scope)).toBe(' 3');
  });

  it('walks objects and arrays and leaves other values alone', () => {
    const value = {
      a: ['{{input.count}}', 7, false, null],
      b: { c: '{{steps.load-db.output}}' },
      d: 'plain',
    };
    expect(resolveTemplates(value, scope)).toEqual({ a: [3, 7, false, null], b: { c: 'done' }, d: 'plain' });
  });

  it('does not change the value it resolves', () => {
    const value = { a: ['{{input.count}}'] };
    resolveTemplates(value, scope);
    expect(value).toEqual({ a: ['{{input.count}}'] });
  });

  it('never reads templates out of the data it substitutes', () => {
    const s: TemplateScope = { input: { evil: '{{steps.fetch.output}}' }, steps: {} };
    expect(resolveTemplates('{{input.evil}}', s)).toBe('{{steps.fetch.output}}');
    expect(resolveTemplates('x {{input.evil}}', s)).toBe('x {{steps.fetch.output}}');
  });

  it('keeps a __proto__ key as data', () => {
    const value = JSON.parse('{"__proto__": "{{input.count}}"}') as JsonValue;
    const out = resolveTemplates(value, scope) as Record<string, JsonValue>;
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out['__proto__']).toBe(3);
  });

  it('resolves item and index in a map child', () => {
    const child: TemplateScope = { ...scope, item: { id: 7, name: 'x' }, index: 4 };
    expect(
      resolveTemplates({ u: '{{item}}', id: '{{item.id}}', i: '{{index}}', s: '#{{index}}' }, child),
    ).toEqual({
      u: { id: 7, name: 'x' },
      id: 7,
      i: 4,
      s: '#4',
    });
    expect(resolveTemplates('{{item}}', { ...scope, item: null, index: 0 })).toBeNull();
    expect(resolveTemplates('{{index}}', { ...scope, item: 'a', index: 0 })).toBe(0);
  });

  const missing: [string, JsonValue, string, RegExp][] = [
    ['a missing field', '{{input.user.email}}', 'email', /input\.user has no field "email"/],
    ['an index past the end', '{{steps.fetch.output.users.5}}', '5', /has no element 5 \(its length is 2\)/],
    [
      'a field of an array',
      '{{input.user.tags.length}}',
      'length',
      /input\.user\.tags has no element length/,
    ],
    ['a field of a number', '{{input.count.x}}', 'x', /input\.count is a number/],
    ['a field of null', '{{input.nothing.x}}', 'x', /input\.nothing is null/],
    ['an inherited property', '{{input.constructor}}', 'constructor', /has no field "constructor"/],
    ['a step without output', '{{steps.later.output}}', 'later', /step later has no output/],
    ['item outside a map', '{{item.id}}', 'item', /only defined in the children of a map step/],
    ['index outside a map', 'n{{index}}', 'index', /only defined in the children of a map step/],
  ];

  it.each(missing)(
    'throws TEMPLATE for %s, naming the template and the segment',
    (_, value, segment, why) => {
      const e = templateError(value);
      expect(e.code).toBe('TEMPLATE');
      expect(e.template).toBe(/\{\{[^}]*\}\}/.exec(value as string)?.[0]);
      expect(e.details).toMatchObject({ segment });
      expect(e.message).toMatch(why);
    },
  );

  it('says where in the value the template stands', () => {
    const e = templateError({ to: ['x', '{{input.user.email}}'] });
    expect(e.details).toEqual({ template: '{{input.user.email}}', segment: 'email', field: 'to[1]' });
    expect(e.message).toBe('{{input.user.email}} (at to[1]): input.user has no field "email"');
  });

  it('refuses a malformed template as a definition error', () => {
    expect(() => resolveTemplates({ a: '{{foo}}' }, scope)).toThrow(ValidationError);
  });
});
