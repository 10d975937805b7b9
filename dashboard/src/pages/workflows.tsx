/**
 * @module pages/workflows
 * `#/workflows`: started workflows, newest first, filtered by status and name (in the
 * hash's query), refreshed every few seconds; and the button that runs the demo
 * workflow of examples/demo-workflow.json (built-in handlers only, so any server runs it).
 */
import { useState } from 'preact/hooks';
import demo from '../../../examples/demo-workflow.json';
import { api, query, WORKFLOW_STATUSES, type WorkflowSummary } from '../api.js';
import { LoadError, ProgressBar, Section, shortId, StatusBadge, When } from '../components/common.js';
import { FilterInput, Pager, usePaging } from '../components/list-controls.js';
import { useLoad } from '../hooks.js';
import { href, navigate, withParams } from '../router.js';

const PAGE_SIZE = 50;

function RunDemo() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const made = await api<{ id: string }>('api/workflows', { method: 'POST', body: demo });
      navigate(href('workflows', made.id));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };
  return (
    <div class="actions">
      <button type="button" data-testid="run-demo" disabled={busy} onClick={() => void run()}>
        ▶ Run demo workflow
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

export function WorkflowsPage({ params }: { params: URLSearchParams }) {
  const status = params.get('status') ?? '';
  const name = params.get('name') ?? '';
  const key = `${status}|${name}`;
  const paging = usePaging(key);

  const page = useLoad(
    () =>
      api<{ workflows: WorkflowSummary[]; next_cursor: string | null }>(
        `api/workflows${query({ status, name, limit: PAGE_SIZE, cursor: paging.cursor })}`,
      ),
    [key, paging.cursor],
    3000,
  );
  const set = (changes: Record<string, string>) =>
    navigate(withParams('#/workflows', { status, name, ...changes }));

  return (
    <Section title="Workflows" actions={<RunDemo />}>
      <div class="filters filter-fields">
        <label>
          status
          <select name="status" value={status} onChange={(e) => set({ status: e.currentTarget.value })}>
            <option value="">any</option>
            {WORKFLOW_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          name
          <FilterInput name="name" value={name} placeholder="exact name" onCommit={(v) => set({ name: v })} />
        </label>
      </div>
      <LoadError error={page.error} />
      {page.data && page.data.workflows.length === 0 && (
        <p class="muted empty" data-testid="workflows-empty">
          No workflows match. Run the demo to see one.
        </p>
      )}
      {page.data && page.data.workflows.length > 0 && (
        <table class="table" data-testid="workflows-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Id</th>
              <th>Status</th>
              <th>Progress</th>
              <th>Started</th>
              <th>Finished</th>
            </tr>
          </thead>
          <tbody>
            {page.data.workflows.map((w) => (
              <tr key={w.id} data-workflow-id={w.id} data-status={w.status}>
                <td>
                  <a href={href('workflows', w.id)}>{w.name}</a>
                </td>
                <td>
                  <code title={w.id}>{shortId(w.id)}</code>
                </td>
                <td>
                  <StatusBadge status={w.status} />
                </td>
                <td>
                  <ProgressBar value={w.progress} /> <span class="muted">{Math.round(w.progress)}%</span>
                </td>
                <td>
                  <When at={w.started_at} />
                </td>
                <td>
                  <When at={w.finished_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager paging={paging} next={page.data?.next_cursor} />
    </Section>
  );
}
