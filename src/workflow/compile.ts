/**
 * @module compile
 * Turns a parsed definition (see definition.ts) into the graph the orchestrator runs:
 * each step's dependencies — explicit, derived from phases, implied by templates — its
 * dependents, and a topological order. Refuses what a schema cannot see because it needs
 * the whole workflow: duplicate and unknown ids, bad template references, undeclared
 * resources, cycles. Pure: no store, no I/O.
 */
import { ValidationError, type ValidationIssue } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';
import type { PhaseDefinition, StepDefinition, WorkflowDefinition } from './definition-types.js';
import { topologicalOrder } from './graph.js';
import { findTemplates, type TemplateUse } from './templates.js';

export interface CompiledStep {
  def: StepDefinition;
  /** Explicit, phase-derived and template-implied dependencies; sorted, unique. */
  deps: string[];
  /** The steps that list this one in their `deps`; sorted. */
  dependents: string[];
}

export interface CompiledWorkflow {
  definition: WorkflowDefinition;
  steps: Map<string, CompiledStep>;
  /** Every step id, each after all of its dependencies. */
  order: string[];
  onStepFailure: 'failFast' | 'continue';
}

export interface CompileOptions {
  /** Resources known outside the definition (registered on the Conveyor). */
  hasResource?: (name: string) => boolean;
}

const NONE: ReadonlySet<string> = new Set();

/** Enough to fix a definition in one go without building a 10,000-line error. */
const MAX_ISSUES = 10;

class Issues {
  readonly list: ValidationIssue[] = [];
  add(field: string, message: string): void {
    if (this.list.length < MAX_ISSUES) this.list.push({ field, message });
  }
  /** Runs `f`, recording the VALIDATION it throws (a malformed template) instead of stopping. */
  collect<T>(f: () => T, fallback: T): T {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      for (const issue of e.issues) this.add(issue.field, issue.message);
      return fallback;
    }
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new ValidationError(this.list);
  }
}

/**
 * Checks the graph of a definition that passed parseWorkflowDefinition and compiles it.
 * Throws VALIDATION naming the field (`steps[3].deps[0]`) or CYCLE naming the loop.
 */
export function compileWorkflow(
  definition: WorkflowDefinition,
  options: CompileOptions = {},
): CompiledWorkflow {
  const issues = new Issues();
  const phases = definition.phases ?? [];
  const stepIds = uniqueIds(definition.steps, 'steps', 'step', issues);
  const phaseIds = uniqueIds(phases, 'phases', 'phase', issues);
  checkPhases(phases, phaseIds, issues);
  const declared = new Set(definition.resources ?? []);
  const cx: StepContext = {
    stepIds,
    phaseIds,
    hasResource: (name) => declared.has(name) || options.hasResource?.(name) === true,
    issues,
  };
  const deps = new Map<string, Set<string>>();
  definition.steps.forEach((step, i) => {
    // A repeated id was reported above; its later definitions are not compiled.
    if (!deps.has(step.id)) deps.set(step.id, stepDeps(step, `steps[${i}]`, cx));
  });
  issues.throwIfAny();

  addPhaseDeps(definition.steps, phases, deps);
  const { order, dependents } = topologicalOrder([...deps.keys()], (id) => deps.get(id) ?? NONE);
  const steps = new Map<string, CompiledStep>(
    definition.steps.map((def) => [
      def.id,
      {
        def,
        deps: [...(deps.get(def.id) ?? NONE)].sort(),
        dependents: (dependents.get(def.id) ?? []).sort(),
      },
    ]),
  );
  return { definition, steps, order, onStepFailure: definition.onStepFailure ?? 'failFast' };
}

/** id → first position; a repeat is an issue on the later one. */
function uniqueIds(
  items: readonly { id: string }[],
  at: string,
  what: string,
  issues: Issues,
): Map<string, number> {
  const index = new Map<string, number>();
  items.forEach(({ id }, i) => {
    const first = index.get(id);
    if (first === undefined) index.set(id, i);
    else issues.add(`${at}[${i}].id`, `duplicate ${what} id ${JSON.stringify(id)} (also ${at}[${first}])`);
  });
  return index;
}

function checkPhases(
  phases: readonly PhaseDefinition[],
  phaseIds: Map<string, number>,
  issues: Issues,
): void {
  phases.forEach((phase, i) => {
    phase.dependsOn?.forEach((dep, k) => {
      const field = `phases[${i}].dependsOn[${k}]`;
      if (dep === phase.id) issues.add(field, 'a phase cannot depend on itself');
      else if (!phaseIds.has(dep)) issues.add(field, `unknown phase ${JSON.stringify(dep)}`);
    });
  });
}

/** What checking one step needs to know about the whole definition. */
interface StepContext {
  stepIds: ReadonlyMap<string, number>;
  phaseIds: ReadonlyMap<string, number>;
  hasResource: (name: string) => boolean;
  issues: Issues;
}

/** A step's explicit and template-implied dependencies; records every problem it finds. */
function stepDeps(step: StepDefinition, at: string, cx: StepContext): Set<string> {
  const { stepIds, issues } = cx;
  const deps = new Set<string>();
  if (step.phase !== undefined && !cx.phaseIds.has(step.phase)) {
    issues.add(`${at}.phase`, `unknown phase ${JSON.stringify(step.phase)}`);
  }
  step.deps?.forEach((dep, k) => {
    if (dep === step.id) issues.add(`${at}.deps[${k}]`, 'a step cannot depend on itself');
    else if (!stepIds.has(dep)) issues.add(`${at}.deps[${k}]`, `unknown step ${JSON.stringify(dep)}`);
    else deps.add(dep);
  });
  for (const { ref, field, template } of templateUses(step, at, issues)) {
    if (ref.root === 'steps') {
      if (ref.stepId === step.id) {
        issues.add(field, `${template} refers to the step's own output`);
      } else if (!stepIds.has(ref.stepId)) {
        issues.add(field, `${template} refers to unknown step ${ref.stepId}`);
      } else {
        deps.add(ref.stepId);
      }
    } else if (ref.root === 'item' || ref.root === 'index') {
      if (field === `${at}.map.over`) {
        issues.add(field, `${template}: the elements come from map.over itself`);
      } else if (!step.map) {
        issues.add(field, `${template} is only defined in a map step`);
      }
    }
  }
  const needed: [string, string][] = (step.resources ?? []).map((name, k) => [name, `${at}.resources[${k}]`]);
  if (step.cache?.resource !== undefined) needed.push([step.cache.resource, `${at}.cache.resource`]);
  for (const [name, field] of needed) {
    if (!cx.hasResource(name)) {
      issues.add(
        field,
        `resource ${JSON.stringify(name)} is not declared (list it in the workflow's resources or register it)`,
      );
    }
  }
  return deps;
}

/** Templates of the fields that may hold them; map.over must be exactly one. */
function templateUses(step: StepDefinition, at: string, issues: Issues): TemplateUse[] {
  const sources: [JsonValue | undefined, string][] = [
    [step.input, `${at}.input`],
    [step.fallback?.input, `${at}.fallback.input`],
    [step.cache?.key, `${at}.cache.key`],
  ];
  const uses = sources.flatMap(([value, field]) =>
    value === undefined ? [] : issues.collect(() => findTemplates(value, field), []),
  );
  if (step.map) {
    const { over } = step.map;
    const field = `${at}.map.over`;
    const found = issues.collect(() => findTemplates(over, field), null);
    if (found && (found.length !== 1 || found[0]?.template !== over)) {
      issues.add(field, 'must be exactly one template naming an array, e.g. {{steps.fetch.output.users}}');
    }
    uses.push(...(found ?? []));
  }
  return uses;
}

/**
 * A step in a phase depends on every step of the phases its phase dependsOn. An empty
 * phase passes its own dependencies through, so A → (empty) B → C still orders C after A.
 */
function addPhaseDeps(
  steps: readonly StepDefinition[],
  phases: readonly PhaseDefinition[],
  deps: Map<string, Set<string>>,
): void {
  if (phases.length === 0) return;
  const members = new Map<string, string[]>(phases.map((p) => [p.id, []]));
  for (const step of steps) if (step.phase !== undefined) members.get(step.phase)?.push(step.id);
  const phaseDeps = new Map(phases.map((p) => [p.id, new Set(p.dependsOn)]));
  // Throws first on a phase cycle, so it is named with phase ids rather than as a step cycle.
  const { order } = topologicalOrder([...phaseDeps.keys()], (id) => phaseDeps.get(id) ?? NONE);
  // The steps a dependent of each phase must wait for, filled in phase order.
  const frontier = new Map<string, readonly string[]>();
  for (const id of order) {
    const own = members.get(id) ?? [];
    const through = (): string[] => [...(phaseDeps.get(id) ?? NONE)].flatMap((d) => frontier.get(d) ?? []);
    frontier.set(id, own.length > 0 ? own : [...new Set(through())]);
  }
  for (const step of steps) {
    const target = deps.get(step.id);
    if (step.phase === undefined || !target) continue;
    for (const before of phaseDeps.get(step.phase) ?? NONE) {
      for (const id of frontier.get(before) ?? []) target.add(id);
    }
  }
}
