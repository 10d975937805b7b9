/**
 * @module builder
 * Writing a workflow in code. The builder produces the same plain-JSON definition the
 * HTTP API, MCP and the CLI take, and checks it the same way (parseWorkflowDefinition,
 * then compileWorkflow) in build(), so a bad workflow fails where it is written rather
 * than when it runs. Methods only record; every check happens in build(), so steps can
 * be declared in any order.
 */
import { ValidationError, type ValidationIssue } from '../core/errors.js';
import type { ResourceFactory } from '../resources/registry.js';
import { compileWorkflow } from './compile.js';
import { rememberChecked } from './checked-definitions.js';
import { parseWorkflowDefinition } from './definition.js';
import type {
  PhaseDefinition,
  StepDefinition,
  StepFailurePolicy,
  WorkflowDefinition,
} from './definition-types.js';

/** Every step field but the two `.step()` takes as arguments. */
export type StepOptions = Omit<StepDefinition, 'id' | 'type'>;
export type PhaseOptions = Omit<PhaseDefinition, 'id'>;

export interface WorkflowBuilderOptions {
  /** Resources registered elsewhere (on the Conveyor) that steps may list without `.resource()`. */
  hasResource?: (name: string) => boolean;
  /**
   * Where `build()` registers the factories declared with `.resource()` (the Conveyor's
   * registry, for `cv.workflow()`), so handlers can reach them whatever runs the definition.
   */
  defineResource?: (name: string, factory: ResourceFactory) => void;
}

interface Connection {
  fromStep: string;
  outputField: string;
  toStep: string;
  inputParam: string;
}

export class WorkflowBuilder {
  private readonly phases: PhaseDefinition[] = [];
  private readonly steps: StepDefinition[] = [];
  private readonly connections: Connection[] = [];
  private failurePolicy: StepFailurePolicy | undefined;
  private about: string | undefined;
  private readonly factories = new Map<string, ResourceFactory>();
  /** The factories of resources declared with `.resource()`, for the Conveyor to register. */
  readonly resourceFactories: ReadonlyMap<string, ResourceFactory> = this.factories;

  constructor(
    private readonly name: string,
    private readonly options: WorkflowBuilderOptions = {},
  ) {}

  phase(id: string, options: PhaseOptions = {}): this {
    this.phases.push({ id, ...withoutUndefined(options) });
    return this;
  }

  step(id: string, type: string, options: StepOptions = {}): this {
    this.steps.push({ id, type, ...withoutUndefined(options) });
    return this;
  }

  /**
   * Feeds `fromStep`'s output field (a dotted path: `user.email`, `items.0`) into
   * `toStep`'s input parameter: `toStep.input[inputParam] = '{{steps.<from>.output.<field>}}'`,
   * and `fromStep` joins `toStep.deps`. Either step may be declared later.
   */
  connect(fromStep: string, outputField: string, toStep: string, inputParam: string): this {
    this.connections.push({ fromStep, outputField, toStep, inputParam });
    return this;
  }

  /** What the workflow is for, for people (the API and dashboard show it). */
  description(text: string): this {
    this.about = text;
    return this;
  }

  onStepFailure(policy: StepFailurePolicy): this {
    this.failurePolicy = policy;
    return this;
  }

  /** Declares a resource steps may list; its name goes into the definition, its factory stays here. */
  resource(name: string, factory: ResourceFactory): this {
    if (this.factories.has(name)) {
      throw new ValidationError([
        { field: 'resources', message: `resource ${JSON.stringify(name)} is declared twice` },
      ]);
    }
    this.factories.set(name, factory);
    return this;
  }

  /** The checked definition, plain JSON. Throws VALIDATION or CYCLE for a bad workflow. */
  build(): WorkflowDefinition {
    // Copies, so connect() never writes into objects the caller passed in.
    const steps = this.steps.map((s) => ({ ...s }));
    applyConnections(steps, this.connections);
    const draft: WorkflowDefinition = {
      name: this.name,
      ...(this.about !== undefined ? { description: this.about } : {}),
      ...(this.failurePolicy ? { onStepFailure: this.failurePolicy } : {}),
      ...(this.phases.length > 0 ? { phases: this.phases } : {}),
      steps,
      ...(this.factories.size > 0 ? { resources: [...this.factories.keys()] } : {}),
    };
    // Parsed first, so the copy below only ever sees JSON; the copy detaches the result from
    // input objects the caller still holds, and the same text is what start compares with.
    const json = JSON.stringify(parseWorkflowDefinition(draft));
    const definition = JSON.parse(json) as WorkflowDefinition;
    compileWorkflow(definition, this.options);
    for (const [name, factory] of this.factories) this.options.defineResource?.(name, factory);
    rememberChecked(definition, json);
    return definition;
  }
}

function applyConnections(steps: StepDefinition[], connections: readonly Connection[]): void {
  const byId = new Map<string, StepDefinition>();
  for (const s of steps) if (!byId.has(s.id)) byId.set(s.id, s);
  const issues: ValidationIssue[] = [];
  connections.forEach((c, k) => {
    const call = `connect(${c.fromStep}.${c.outputField} → ${c.toStep}.${c.inputParam})`;
    const fail = (field: keyof Connection, why: string): void => {
      issues.push({ field: `connections[${k}].${field}`, message: `${call}: ${why}` });
    };
    const target = byId.get(c.toStep);
    if (!byId.has(c.fromStep)) return fail('fromStep', `step ${c.fromStep} is not defined`);
    if (!target) return fail('toStep', `step ${c.toStep} is not defined`);
    if (c.inputParam === '') return fail('inputParam', 'must not be empty');
    const input = target.input ?? {};
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return fail('toStep', `the input of step ${c.toStep} must be an object (or absent) to take parameters`);
    }
    if (Object.hasOwn(input, c.inputParam)) {
      return fail('inputParam', `the input of step ${c.toStep} already has ${JSON.stringify(c.inputParam)}`);
    }
    // A computed key is an own property even when it is `__proto__`.
    target.input = { ...input, [c.inputParam]: `{{steps.${c.fromStep}.output.${c.outputField}}}` };
    if (!target.deps?.includes(c.fromStep)) target.deps = [...(target.deps ?? []), c.fromStep];
  });
  if (issues.length > 0) throw new ValidationError(issues.slice(0, 10));
}

/**
 * JavaScript callers may pass `{ retry: undefined }`; a definition is JSON, where a field is
 * present or absent, and the schema refuses an explicit undefined.
 */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
