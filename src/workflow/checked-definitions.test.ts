/**
 * A definition build() checked is not checked again on start while it serializes to the
 * same JSON; a changed one, or any other object, is not taken as checked.
 */
import { describe, expect, it } from 'vitest';
import { WorkflowBuilder } from './builder.js';
import { checkedDefinition } from './checked-definitions.js';

const built = () =>
  new WorkflowBuilder('w')
    .step('a', 't', { input: { n: 1 } })
    .step('b', 't', { deps: ['a'] })
    .build();

describe('checkedDefinition', () => {
  it('gives a private copy of an unchanged definition from build()', () => {
    const def = built();
    const copy = checkedDefinition(def);
    expect(copy).toEqual(def);
    expect(copy).not.toBe(def);
    // The copy is detached: changing the caller's object later does not reach it.
    (def.steps[0]!.input as { n: number }).n = 2;
    expect(copy!.steps[0]!.input).toEqual({ n: 1 });
  });

  it('does not count a definition changed after build(), nor one that did not come from it', () => {
    const def = built();
    def.steps[1]!.type = '';
    expect(checkedDefinition(def)).toBeUndefined();
    const same = JSON.parse(JSON.stringify(built())) as unknown;
    expect(checkedDefinition(same)).toBeUndefined();
    expect(checkedDefinition(null)).toBeUndefined();
    expect(checkedDefinition('w')).toBeUndefined();
  });

  it('does not count a definition that can no longer be serialized', () => {
    const def = built() as unknown as { steps: Array<Record<string, unknown>> };
    def.steps[0]!.input = {};
    (def.steps[0]!.input as Record<string, unknown>).self = def.steps[0]!.input;
    expect(checkedDefinition(def)).toBeUndefined();
  });
});
