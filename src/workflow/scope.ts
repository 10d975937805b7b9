/**
 * @module scope
 * What a step's templates see: the workflow's input and the outputs of the steps they
 * name. Only the named steps are read (by id, one query), and the dependency graph
 * guarantees they completed before the step that reads them became ready.
 */
import type { JsonValue } from '../core/types.js';
import type { TxContext } from '../engine/tx-context.js';
import { stepItemId } from './step-items.js';
import { resolveTemplates, stepsReferenced, type TemplateScope } from './templates.js';

export async function loadScope(
  c: TxContext,
  workflowId: string,
  input: JsonValue,
  values: ReadonlyArray<JsonValue | undefined>,
): Promise<TemplateScope> {
  const names = new Set<string>();
  for (const v of values) if (v !== undefined) for (const id of stepsReferenced(v)) names.add(id);
  const steps: Record<string, JsonValue> = {};
  if (names.size > 0) {
    const items = await c.tx.getItems([...names].map((id) => stepItemId(workflowId, id)));
    for (const item of items) if (item.stepId !== null) steps[item.stepId] = item.output;
  }
  return { input, steps };
}

/** `value` resolved against the scope it needs (loaded here). Throws TemplateError. */
export async function resolveFor(
  c: TxContext,
  workflowId: string,
  input: JsonValue,
  value: JsonValue,
  extra: Partial<Pick<TemplateScope, 'item' | 'index'>> = {},
): Promise<JsonValue> {
  const scope = await loadScope(c, workflowId, input, [value]);
  return resolveTemplates(value, { ...scope, ...extra });
}
