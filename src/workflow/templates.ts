/**
 * @module templates
 * Step inputs refer to the workflow input and to other steps' outputs with templates:
 * `{{input.user.name}}`, `{{steps.fetch.output.users}}`, and in a map step `{{item}}`,
 * `{{item.id}}`, `{{index}}` (inner spaces allowed: `{{ input.x }}`). The compiler scans
 * them to find the dependencies they imply and to refuse bad ones; the orchestrator
 * resolves them against the data when a step is about to run.
 *
 * Only the definition is scanned. Text inside the workflow input or a step's output is
 * never read as a template, so data cannot smuggle in references. There is no escape:
 * any `{{` in a definition string starts a template.
 */
import { TemplateError, ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';
import { fieldPath } from '../engine/validation.js';

/** Step and phase ids. No dots: templates separate path segments with them. */
export const STEP_ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

/** A path segment: an identifier (object field) or a non-negative integer (array index). */
const SEGMENT = /^(?:[A-Za-z_$][\w$]*|0|[1-9]\d*)$/;

export type TemplateRef =
  | { root: 'input'; path: string[] }
  | { root: 'steps'; stepId: string; path: string[] }
  | { root: 'item'; path: string[] }
  | { root: 'index' };

export interface TemplateUse {
  /** The template as written, braces included: `{{ steps.fetch.output.users }}`. */
  template: string;
  ref: TemplateRef;
  /** Where it stands: `at` (see findTemplates) followed by the path inside the value. */
  field: string;
}

/** What templates resolve against: the workflow input, finished steps' outputs, a map child's element. */
export interface TemplateScope {
  input: JsonValue;
  steps: Record<string, JsonValue>;
  item?: JsonValue;
  index?: number;
}

type Path = (string | number)[];
type Part = string | { template: string; ref: TemplateRef };

/**
 * Every template in `value` (objects and arrays walked, keys left alone), in document
 * order. `at` names the value in error messages and prefixes each `field`, e.g.
 * `steps[2].input`. Throws VALIDATION naming the field for a malformed template.
 */
export function findTemplates(value: JsonValue, at = ''): TemplateUse[] {
  const uses: TemplateUse[] = [];
  walkStrings(value, [], (s, path) => {
    for (const part of parseString(s, () => fieldPath(at, path))) {
      if (typeof part !== 'string') uses.push({ ...part, field: fieldPath(at, path) });
    }
  });
  return uses;
}

/** The ids of the steps whose outputs `value` refers to. */
export function stepsReferenced(value: JsonValue): Set<string> {
  const ids = new Set<string>();
  for (const { ref } of findTemplates(value)) if (ref.root === 'steps') ids.add(ref.stepId);
  return ids;
}

/**
 * A copy of `value` with its templates replaced. A string that is exactly one template
 * becomes the value it names, of any JSON type; templates among other text are
 * interpolated (strings as they are, other values as JSON text). Throws TEMPLATE when a
 * path is missing from the data.
 */
export function resolveTemplates(value: JsonValue, scope: TemplateScope): JsonValue {
  return resolveAt(value, scope, []);
}

function resolveAt(value: JsonValue, scope: TemplateScope, path: Path): JsonValue {
  if (typeof value === 'string') return resolveString(value, scope, path);
  if (Array.isArray(value)) return value.map((v, i) => resolveAt(v, scope, [...path, i]));
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties, so a `__proto__` key stays data.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveAt(v, scope, [...path, k])]));
  }
  return value;
}

function resolveString(s: string, scope: TemplateScope, path: Path): JsonValue {
  const parts = parseString(s, () => fieldPath('', path));
  const [only] = parts;
  if (parts.length === 1 && only !== undefined && typeof only !== 'string') {
    return lookup(only.template, only.ref, scope, path);
  }
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') out += part;
    else {
      const v = lookup(part.template, part.ref, scope, path);
      out += typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
  return out;
}

/** The value `ref` names; `where` is the template's place in the resolved value, for the error. */
function lookup(template: string, ref: TemplateRef, scope: TemplateScope, where: Path): JsonValue {
  const missing = (segment: string, reason: string): TemplateError =>
    new TemplateError(template, segment, reason, where.length > 0 ? fieldPath('', where) : undefined);
  let cur: JsonValue | undefined;
  let at: string;
  switch (ref.root) {
    case 'input':
      [cur, at] = [scope.input, 'input'];
      break;
    case 'steps':
      if (!Object.hasOwn(scope.steps, ref.stepId)) {
        throw missing(ref.stepId, `step ${ref.stepId} has no output (it has not completed)`);
      }
      [cur, at] = [scope.steps[ref.stepId], `steps.${ref.stepId}.output`];
      break;
    case 'item':
      if (scope.item === undefined)
        throw missing('item', 'item is only defined in the children of a map step');
      [cur, at] = [scope.item, 'item'];
      break;
    case 'index':
      if (scope.index === undefined) {
        throw missing('index', 'index is only defined in the children of a map step');
      }
      return scope.index;
  }
  for (const segment of ref.path) {
    const next = childOf(cur, segment);
    if (next === undefined) throw missing(segment, `${at} ${lacks(cur, segment)}`);
    cur = next;
    at += `.${segment}`;
  }
  return cur ?? null;
}

/** Own data only: `{{input.constructor}}` must not reach Object.prototype. */
function childOf(v: JsonValue | undefined, segment: string): JsonValue | undefined {
  if (Array.isArray(v)) return /^\d+$/.test(segment) ? v[Number(segment)] : undefined;
  if (v !== null && typeof v === 'object' && Object.hasOwn(v, segment)) return v[segment];
  return undefined;
}

function lacks(v: JsonValue | undefined, segment: string): string {
  if (Array.isArray(v)) return `has no element ${segment} (its length is ${v.length})`;
  if (v !== null && typeof v === 'object') return `has no field ${JSON.stringify(segment)}`;
  return `is ${v === null ? 'null' : `a ${typeof v}`}, which has no field ${JSON.stringify(segment)}`;
}

function walkStrings(value: JsonValue, path: Path, visit: (s: string, path: Path) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, [...path, i], visit));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walkStrings(v, [...path, k], visit);
  }
}

/** Splits a string into literal text and templates; throws VALIDATION on a malformed one. */
function parseString(s: string, field: () => string): Part[] {
  if (!s.includes('{{')) return [s];
  const parts: Part[] = [];
  let pos = 0;
  for (let open = s.indexOf('{{'); open >= 0; open = s.indexOf('{{', pos)) {
    const close = s.indexOf('}}', open + 2);
    if (close < 0) throw malformed(s.slice(open), 'is not closed with }}', field);
    if (open > pos) parts.push(s.slice(pos, open));
    const template = s.slice(open, close + 2);
    parts.push({ template, ref: parseRef(template, field) });
    pos = close + 2;
  }
  if (pos < s.length) parts.push(s.slice(pos));
  return parts;
}

function parseRef(template: string, field: () => string): TemplateRef {
  const inner = template.slice(2, -2).trim();
  const [root = '', ...rest] = inner.split('.');
  const badPath = (segments: string[]): boolean => !segments.every((p) => SEGMENT.test(p));
  const fail = (why: string): ValidationError => malformed(template, why, field);
  switch (root) {
    case 'input':
    case 'item':
      if (badPath(rest)) throw fail(PATH_RULE);
      return { root, path: rest };
    case 'index':
      if (rest.length > 0) throw fail('index takes no path');
      return { root };
    case 'steps': {
      const [stepId = '', output, ...path] = rest;
      if (!STEP_ID_PATTERN.test(stepId) || output !== 'output') {
        throw fail('expected steps.<stepId>.output, optionally followed by a path');
      }
      if (badPath(path)) throw fail(PATH_RULE);
      return { root, stepId, path };
    }
    default:
      throw fail(
        inner === ''
          ? 'is empty'
          : `starts with ${JSON.stringify(root)}; expected input, steps.<stepId>.output, item or index`,
      );
  }
}

const PATH_RULE = 'path segments are identifiers or non-negative integers, joined by dots';

function malformed(template: string, why: string, field: () => string): ValidationError {
  return new ValidationError([{ field: field(), message: `malformed template ${template}: ${why}` }]);
}
