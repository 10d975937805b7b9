/**
 * @module map-step
 * Parallel map: when a map step becomes ready the engine takes its item over
 * (`conveyor:workflow`) and creates one child item per element of the array `map.over`
 * resolves to — all queued, or the first `concurrency` with the rest waiting their turn.
 * Each child that finishes lets the next one in; when the last finishes, the step completes
 * with the children's outputs in element order (null for a failed child when
 * `continueOnError`). Without `continueOnError` the first child that fails for good stops
 * the others and fails the step (its fallback, if any, then runs). Progress is counted in
 * the workflow row, so a 10,000-element map costs O(1) bookkeeping per child.
 */
import { TemplateError, toItemError } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';
import { failUnrunnable } from '../engine/dependencies.js';
import { enqueuePlanned } from '../engine/enqueue.js';
import { completeItem, failItem } from '../engine/settle.js';
import { takeOver } from '../engine/take-over.js';
import { applyTransition } from '../engine/transition.js';
import type { TxContext } from '../engine/tx-context.js';
import type { ItemRecord } from '../store/records.js';
import type { WorkflowRecord } from '../store/workflow-records.js';
import type { StepDefinition } from './definition-types.js';
import { loadScope } from './scope.js';
import { cacheKeyOf, childItemId, mapChildItem, stepItemId } from './step-items.js';
import { stopItems } from './stop-items.js';
import { resolveTemplates } from './templates.js';

export const MAP_ACTOR = 'conveyor:workflow';

/** Starts a map step whose item just became queued; `w.counters` is updated in place. */
export async function startMap(
  c: TxContext,
  w: WorkflowRecord,
  input: JsonValue,
  def: StepDefinition,
  item: ItemRecord,
): Promise<void> {
  const map = def.map!;
  let elements: JsonValue[];
  let payloads: JsonValue[];
  let cacheKeys: string[] | undefined;
  try {
    const scope = await loadScope(c, w.id, input, [map.over, def.input, def.cache?.key]);
    const over = resolveTemplates(map.over, scope);
    if (!Array.isArray(over)) {
      const found = over === null ? 'null' : typeof over;
      throw new TemplateError(map.over, '', `map step ${def.id} needs an array, found ${found}`, 'map.over');
    }
    elements = over;
    // Without an input, each child gets its element as it is.
    payloads = elements.map((el, index) =>
      def.input === undefined ? el : resolveTemplates(def.input, { ...scope, item: el, index }),
    );
    const cache = def.cache;
    if (cache)
      cacheKeys = elements.map((el, index) =>
        cacheKeyOf(def, resolveTemplates(cache.key, { ...scope, item: el, index })),
      );
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    await failUnrunnable(c, item, toItemError(e), MAP_ACTOR);
    return;
  }
  const running = await takeOver(c, item, MAP_ACTOR);
  const total = elements.length;
  const concurrency = Math.min(map.concurrency ?? total, total);
  w.counters.maps[def.id] = { total, finished: 0, failed: 0, next: concurrency };
  if (total === 0) {
    await completeItem(c, running, [], undefined);
    return;
  }
  const ctx = { workflowId: w.id, tenant: w.tenant };
  await enqueuePlanned(
    c,
    payloads.map((payload, i) => mapChildItem(def, ctx, i, payload, i >= concurrency, cacheKeys?.[i])),
  );
}

/** A child of a map step reached a final state. */
export async function childFinished(
  c: TxContext,
  w: WorkflowRecord,
  def: StepDefinition,
  child: ItemRecord,
): Promise<void> {
  const m = w.counters.maps[def.id];
  if (!m) return;
  m.finished++;
  const ok = child.status === 'completed';
  if (!ok) m.failed++;
  const parent = await c.tx.getItem(stepItemId(w.id, def.id));
  if (parent?.status !== 'running' || parent.executorId !== MAP_ACTOR) return;
  if (!ok && !def.map!.continueOnError) {
    const rest: string[] = [];
    for (let i = 0; i < m.total; i++) if (i !== child.mapIndex) rest.push(childItemId(w.id, def.id, i));
    await stopItems(c, rest, `map step ${def.id}: item ${child.mapIndex} ${child.status}`);
    m.next = m.total;
    const cause = child.error ?? { code: 'CANCELLED', message: child.status };
    await failItem(c, parent, {
      error: { code: cause.code, message: `item ${child.mapIndex} of map step ${def.id}: ${cause.message}` },
      retryable: false,
    });
    return;
  }
  if (m.next < m.total) {
    const waiting = await c.tx.getItem(childItemId(w.id, def.id, m.next));
    m.next++;
    if (waiting?.status === 'pending')
      await applyTransition(c, waiting, { to: 'queued', receipt: 'queued', actor: null });
  }
  if (m.finished === m.total) {
    const children = await c.tx.mapChildren(w.id, def.id);
    const outputs = children.map((ch) => (ch.status === 'completed' ? ch.output : null));
    await completeItem(c, parent, outputs, undefined);
  }
}
