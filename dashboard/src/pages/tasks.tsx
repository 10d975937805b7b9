/**
 * @module pages/tasks
 * `#/tasks`: queue depth over time, then the tasks, newest first, filtered on the server
 * by status, type, queue and workflow (the filters live in the hash's query) and searched
 * on the loaded page by id, name and type. Pages follow `next_cursor`; the page shown
 * refreshes every few seconds.
 */
import { useState } from 'preact/hooks';
import { api, query, TASK_STATUSES, type Task } from '../api.js';
import { LoadError, ProgressBar, Section, shortId, StatusBadge, When } from '../components/common.js';
import { FilterInput, Pager, usePaging } from '../components/list-controls.js';
import { QueueChart } from '../components/queue-chart.js';
import { useLoad } from '../hooks.js';
import { href, navigate, withParams } from '../router.js';

const PAGE_SIZE = 50;
const FILTERS = ['status', 'type', 'queue', 'workflow_id'] as const;
type Filter = (typeof FILTERS)[number];

const label = (t: Task) => t.name ?? t.step_id ?? shortId(t.id);

export function TasksPage({ params }: { params: URLSearchParams }) {
  const current = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Record<Filter, string>;
  const statuses = new Set(current.status.split(',').filter((s) => s !== ''));
  const filterKey = FILTERS.map((f) => current[f]).join('|');
  const paging = usePaging(filterKey);
  const [search, setSearch] = useState('');

  const page = useLoad(
    () =>
      api<{ tasks: Task[]; next_cursor: string | null }>(
        `api/tasks${query({ ...current, limit: PAGE_SIZE, cursor: paging.cursor })}`,
      ),
    [filterKey, paging.cursor],
    3000,
  );

  const setFilter = (name: Filter, value: string) =>
    navigate(withParams('#/tasks', { ...current, [name]: value.trim() }));
  const toggleStatus = (status: string) => {
    const next = new Set(statuses);
    if (next.has(status)) next.delete(status);
    else next.add(status);
    setFilter('status', TASK_STATUSES.filter((s) => next.has(s)).join(','));
  };

  const needle = search.trim().toLowerCase();
  const rows = (page.data?.tasks ?? []).filter(
    (t) => needle === '' || [t.id, t.name ?? '', t.type].some((v) => v.toLowerCase().includes(needle)),
  );

  return (
    <>
      <Section title="Queue depth">
        <QueueChart />
      </Section>
      <Section title="Tasks">
        <div class="filters" data-testid="task-filters">
          <fieldset class="status-filter">
            <legend>Status</legend>
            {TASK_STATUSES.map((s) => (
              <label key={s} class={`chip ${statuses.has(s) ? 'chip-on' : ''}`}>
                <input
                  type="checkbox"
                  name="status"
                  value={s}
                  checked={statuses.has(s)}
                  onChange={() => toggleStatus(s)}
                />
                {s}
              </label>
            ))}
          </fieldset>
          <div class="filter-fields">
            {(['type', 'queue', 'workflow_id'] as const).map((f) => (
              <label key={f}>
                {f === 'workflow_id' ? 'workflow id' : f}
                <FilterInput name={f} value={current[f]} onCommit={(v) => setFilter(f, v)} />
              </label>
            ))}
            <label>
              search this page
              <input
                type="search"
                name="search"
                value={search}
                placeholder="id, name or type"
                onInput={(e) => setSearch(e.currentTarget.value)}
              />
            </label>
          </div>
        </div>
        <LoadError error={page.error} />
        {page.data && rows.length === 0 && (
          <p class="muted empty" data-testid="tasks-empty">
            No tasks match.
          </p>
        )}
        {rows.length > 0 && (
          <table class="table" data-testid="tasks-table">
            <thead>
              <tr>
                <th>Task</th>
                <th>Type</th>
                <th>Queue</th>
                <th>Status</th>
                <th>Progress</th>
                <th>Attempts</th>
                <th>Created</th>
                <th>Workflow</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.id} data-task-id={t.id} data-status={t.status}>
                  <td>
                    <a href={href('tasks', t.id)} title={t.id}>
                      {label(t)}
                    </a>
                  </td>
                  <td>{t.type}</td>
                  <td>{t.queue}</td>
                  <td>
                    <StatusBadge status={t.status} />
                  </td>
                  <td>
                    <ProgressBar value={t.progress} />
                  </td>
                  <td class="num">{t.attempts}</td>
                  <td>
                    <When at={t.created_at} />
                  </td>
                  <td>
                    {t.workflow_id ? (
                      <a href={href('workflows', t.workflow_id)} title={t.workflow_id}>
                        {shortId(t.workflow_id)}
                      </a>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager paging={paging} next={page.data?.next_cursor} />
      </Section>
    </>
  );
}
