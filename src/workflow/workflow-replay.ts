/**
 * @module workflow-replay
 * The event log rebuilds workflow rows the way it rebuilds items: `workflow.created`
 * carries the whole record, each `workflow.updated` the patch its transaction wrote, and
 * the fold checks each update starts from the status the previous one left.
 */
import { foldLog, ReplayError } from '../engine/replay.js';
import type { EventRecord } from '../store/records.js';
import type { StoreReads } from '../store/store.js';
import type { WorkflowPatch, WorkflowRecord, WorkflowSpec } from '../store/workflow-records.js';

/** What the log says of a workflow: its row and what it was started with. */
export interface ReplayedWorkflow {
  state: WorkflowRecord;
  spec: WorkflowSpec;
}

export function replayWorkflowEvents(
  events: Iterable<EventRecord>,
  states = new Map<string, ReplayedWorkflow>(),
): Map<string, ReplayedWorkflow> {
  for (const e of events) {
    const id = e.workflowId;
    if (id === null || e.itemId !== null) continue;
    if (e.type === 'workflow.created') {
      if (states.has(id)) throw new ReplayError(e.seq, `workflow ${id} created twice`);
      states.set(id, {
        state: structuredClone(e.data.state as WorkflowRecord),
        spec: structuredClone({ definition: e.data.definition, input: e.data.input } as WorkflowSpec),
      });
      continue;
    }
    if (e.type !== 'workflow.updated') continue; // facts (events sent to it) change no field
    const state = states.get(id)?.state;
    if (!state) throw new ReplayError(e.seq, `${e.type} for workflow ${id}, which was never created`);
    if (e.data.from !== state.status)
      throw new ReplayError(
        e.seq,
        `${e.type} starts from ${String(e.data.from)} but workflow ${id} is ${state.status}`,
      );
    Object.assign(state, structuredClone(e.data.patch as WorkflowPatch));
  }
  return states;
}

/** Rebuilds every workflow's row from the whole log. */
export async function rebuildWorkflowStates(
  store: Pick<StoreReads, 'workflowEvents'>,
): Promise<Map<string, ReplayedWorkflow>> {
  const states = new Map<string, ReplayedWorkflow>();
  await foldLog(
    (after, n) => store.workflowEvents(after, n),
    (page) => replayWorkflowEvents(page, states),
  );
  return states;
}
