/**
 * @module cli/watch
 * Follows one task or one workflow to its end over `GET /api/events` and shows it on a
 * progress board. A filtered stream starts at the subject's first event, so watching
 * something that already finished replays it and ends at once; the final state is read
 * back from the API afterwards, so a step whose events the board did not show (a map's
 * children) still ends with its true status.
 */
import type { TaskView, workflowView } from '../client/views.js';
import { query, segment, type ApiClient } from './api-client.js';
import { isFinished, type ProgressBoard, type ProgressUpdate } from './progress.js';
import { followEvents } from './sse-client.js';

export type WorkflowView = ReturnType<typeof workflowView>;

/** The `data:` of an event frame (src/api/http/sse.ts). */
interface Frame {
  type: string;
  task_id: string | null;
  workflow_id: string | null;
  step_id?: string;
  map_index?: number;
  status: string | null;
  progress?: number;
  message?: string;
  error?: { code?: string; message?: string } | null;
}

const WORKFLOW_END: Record<string, string> = {
  workflow_complete: 'completed',
  workflow_failed: 'failed',
  workflow_cancelled: 'cancelled',
};

/** What a frame changes on a row. */
function updateOf(frame: Frame): ProgressUpdate | null {
  const status = frame.status ?? undefined;
  switch (frame.type) {
    case 'task_progress':
      return {
        ...(frame.progress !== undefined ? { percent: frame.progress } : {}),
        ...(frame.message ? { detail: frame.message } : {}),
      };
    case 'task_retry':
      return { status: 'retrying', ...(frame.error?.message ? { detail: frame.error.message } : {}) };
    case 'task_failed':
    case 'step_failed':
      return { status: 'failed', ...(frame.error?.message ? { detail: frame.error.message } : {}) };
    case 'task_complete':
    case 'step_complete':
      return { status: 'completed', percent: 100 };
    default:
      return status !== undefined ? { status } : null;
  }
}

const parseFrame = (data: string): Frame | null => {
  try {
    return JSON.parse(data) as Frame;
  } catch {
    return null;
  }
};

/** Shows the task until it finishes; resolves with the task as it ended. */
export async function watchTask(client: ApiClient, task: TaskView, board: ProgressBoard): Promise<TaskView> {
  const key = task.id;
  board.add(key, task.name ?? task.type, task.status);
  if (!isFinished(task.status)) {
    for await (const event of followEvents(client, `/api/events${query({ task_id: task.id })}`)) {
      const frame = parseFrame(event.data);
      if (frame === null || frame.task_id !== task.id) continue;
      const update = updateOf(frame);
      if (update) board.set(key, update);
      if (frame.status !== null && isFinished(frame.status)) break;
    }
  }
  const final = await client.get<TaskView>(`/api/tasks/${segment(task.id)}`);
  board.set(key, { status: final.status, ...(final.error ? { detail: final.error.message } : {}) });
  board.stop();
  return final;
}

/** Shows each step of the run until the workflow ends; resolves with the run as it ended. */
export async function watchWorkflow(
  client: ApiClient,
  run: WorkflowView,
  board: ProgressBoard,
): Promise<WorkflowView> {
  for (const step of run.tasks) board.add(step.id, step.id, step.status);
  if (!isFinished(run.status)) {
    for await (const event of followEvents(client, `/api/events${query({ workflow_id: run.id })}`)) {
      const frame = parseFrame(event.data);
      if (frame === null) continue;
      if (frame.task_id === null) {
        if (WORKFLOW_END[frame.type] !== undefined) break;
        continue;
      }
      // A map's children report under their step; the step's own events carry its state.
      if (frame.step_id === undefined || frame.map_index !== undefined) continue;
      const update = updateOf(frame);
      if (update) board.set(frame.step_id, update);
    }
  }
  const final = await client.get<WorkflowView>(`/api/workflows/${segment(run.id)}`);
  for (const step of final.tasks)
    board.set(step.id, { status: step.status, ...(step.error ? { detail: step.error.message } : {}) });
  board.stop();
  return final;
}
