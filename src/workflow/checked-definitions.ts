/**
 * @module checked-definitions
 * Definitions that `build()` has already checked, so starting one does not check it again
 * (a thousand-step definition is ~4 ms of zod when warm, ~25 ms cold, on every start).
 * The caller holds the object build() returned and may still change it, so identity alone
 * proves nothing: an entry counts only while the object serializes to the JSON it had when
 * it was checked, and the start then uses the private copy of that JSON, never the object
 * itself. Whatever else it is handed goes through parseWorkflowDefinition as before.
 */
import type { WorkflowDefinition } from './definition-types.js';

interface Checked {
  json: string;
  copy: WorkflowDefinition;
}

// Weak: a definition the caller drops takes its entry with it.
const checked = new WeakMap<object, Checked>();

/** Records `definition` (plain JSON that passed parse and compile, serialized as `json`) as checked. */
export function rememberChecked(definition: WorkflowDefinition, json: string): void {
  checked.set(definition, { json, copy: JSON.parse(json) as WorkflowDefinition });
}

/**
 * The checked copy of `value` when it is a definition from build() that has not changed
 * since; otherwise undefined (the caller parses it).
 */
export function checkedDefinition(value: unknown): WorkflowDefinition | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const entry = checked.get(value);
  if (entry === undefined) return undefined;
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    // A cycle or a throwing toJSON added since: parsing it reports the field.
    return undefined;
  }
  return json === entry.json ? entry.copy : undefined;
}
