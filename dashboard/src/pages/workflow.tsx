/**
 * @module pages/workflow
 * `#/workflows/<id>`: the run's step graph, live. Events of the workflow's stream patch
 * a step's status and progress at once, and each one also schedules a reload of the
 * workflow and its tasks (throttled), so the graph ends up as the server has it even
 * for what events do not carry (a map step's overall status, a step that was skipped).
 * Patches hold until the next reload lands: that reload started after them, so it
 * already has what they said.
 */
import { useRef, useState } from 'preact/hooks';
import { api, query, type Task, type Workflow } from '../api.js';
import { Json, LoadError, ProgressBar, Section, StatusBadge, When } from '../components/common.js';
import { StepGraph, type GraphStep } from '../components/step-graph.js';
import { useEvents, useLoad, useThrottle } from '../hooks.js';
import { href } from '../router.js';
import type { StreamEvent } from '../sse.js';

interface Live {
  status?: string;
  progress?: number;
}

export function WorkflowPage({ id }: { id: string }) {
  const path = encodeURIComponent(id);
  const workflow = useLoad(() => api<Workflow>(`api/workflows/${path}`), [id]);
  // Progress is a task's, not a step's: read from the workflow's tasks.
  const tasks = useLoad(
    () => api<{ tasks: Task[] }>(`api/tasks${query({ workflow_id: id, limit: 1000 })}`),
    [id],
  );
  const [live, setLive] = useState<{ base: unknown; steps: Record<string, Live> }>({ base: null, steps: {} });
  const shown = useRef<Workflow | undefined>(undefined);
  shown.current = workflow.data;
  const [actionError, setActionError] = useState<string | null>(null);

  const reload = useThrottle(() => {
    workflow.reload();
    tasks.reload();
  }, 300);

  useEvents(`api/events${query({ workflow_id: id })}`, (e: StreamEvent) => {
    const step = e.data.step_id;
    if (step !== undefined && e.data.map_index === undefined) {
      const patch: Live = {};
      if (e.data.status !== null) patch.status = e.data.status;
      if (e.data.progress !== undefined) patch.progress = e.data.progress;
      setLive((l) => {
        const steps = l.base === shown.current ? l.steps : {};
        return { base: shown.current, steps: { ...steps, [step]: { ...steps[step], ...patch } } };
      });
    }
    reload();
  });

  const w = workflow.data;
  if (!w) return <LoadError error={workflow.error} />;

  const progressOf = new Map((tasks.data?.tasks ?? []).map((t) => [t.id, t.progress]));
  const patches = live.base === w ? live.steps : {};
  const steps: GraphStep[] = w.tasks.map((s) => {
    const patch = patches[s.id] ?? {};
    return {
      id: s.id,
      type: s.type,
      dependencies: s.dependencies,
      taskId: s.task_id,
      status: patch.status ?? s.status,
      progress: patch.progress ?? (s.task_id !== null ? progressOf.get(s.task_id) : undefined) ?? 0,
    };
  });
  const failed = w.tasks.filter((s) => s.error !== null && s.error !== undefined);

  const cancel = async () => {
    setActionError(null);
    try {
      await api(`api/workflows/${path}/cancel`, { method: 'POST' });
      reload();
    } catch (e) {
      setActionError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <>
      <Section
        title={w.name}
        actions={
          w.status === 'running' && (
            <button type="button" class="danger" onClick={() => void cancel()}>
              Cancel workflow
            </button>
          )
        }
      >
        {actionError && (
          <p class="error" role="alert">
            {actionError}
          </p>
        )}
        <div class="summary" data-testid="workflow-summary" data-status={w.status}>
          <StatusBadge status={w.status} />
          <ProgressBar value={w.progress} />
          <span>{Math.round(w.progress)}%</span>
          <span class="muted">
            {w.tasks.length} steps · started <When at={w.started_at} />
            {w.finished_at && (
              <>
                {' '}
                · finished <When at={w.finished_at} />
              </>
            )}
          </span>
          <code class="muted">{w.id}</code>
        </div>
        {w.description && <p>{w.description}</p>}
        <StepGraph steps={steps} />
        <p class="muted hint">Click a step to open its task.</p>
      </Section>
      <Section title="Steps">
        <table class="table" data-testid="steps-table">
          <thead>
            <tr>
              <th>Step</th>
              <th>Type</th>
              <th>Depends on</th>
              <th>Status</th>
              <th>Attempts</th>
              <th>Started</th>
              <th>Finished</th>
            </tr>
          </thead>
          <tbody>
            {w.tasks.map((s, i) => (
              <tr key={s.id}>
                <td>{s.task_id ? <a href={href('tasks', s.task_id)}>{s.id}</a> : s.id}</td>
                <td>{s.type}</td>
                <td>
                  {s.dependencies.length > 0 ? s.dependencies.join(', ') : <span class="muted">—</span>}
                </td>
                <td>
                  <StatusBadge status={steps[i]?.status ?? s.status} />
                </td>
                <td class="num">{s.attempts}</td>
                <td>
                  <When at={s.started_at} />
                </td>
                <td>
                  <When at={s.finished_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {failed.length > 0 && (
        <Section title="Errors">
          {failed.map((s) => (
            <div key={s.id}>
              <h3>{s.id}</h3>
              <Json value={s.error} />
            </div>
          ))}
        </Section>
      )}
    </>
  );
}
