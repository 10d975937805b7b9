/**
 * @module pages/task
 * `#/tasks/<id>`: one task's fields, payload, result and error, its log lines and its
 * receipt chain with the server's verdict, live over the task's event stream. Cancel
 * and retry are offered only where the API allows them (cancel while unfinished; retry
 * of a failed or cancelled task that is not a workflow's step).
 */
import { useState } from 'preact/hooks';
import { api, UNFINISHED, type LogLine, type ReceiptChain, type Task } from '../api.js';
import { Json, LoadError, ProgressBar, Section, StatusBadge, When } from '../components/common.js';
import { useEvents, useLoad, useThrottle } from '../hooks.js';
import { href, navigate } from '../router.js';

function Verdict({ chain }: { chain: ReceiptChain }) {
  return chain.valid ? (
    <p class="verdict verdict-ok" data-testid="receipts-verdict" data-valid="true">
      ✔ Chain verified: {chain.count} receipt{chain.count === 1 ? '' : 's'}, each hash linked to the one
      before.
    </p>
  ) : (
    <p class="verdict verdict-bad" data-testid="receipts-verdict" data-valid="false">
      ✘ Chain broken{chain.first_broken_seq !== null ? ` at receipt ${chain.first_broken_seq}` : ''}
      {chain.reason ? `: ${chain.reason}` : ''}
    </p>
  );
}

const hash = (h: string | null) =>
  h ? <code title={h}>{h.slice(0, 12)}…</code> : <span class="muted">—</span>;

export function TaskPage({ id }: { id: string }) {
  const path = encodeURIComponent(id);
  const task = useLoad(() => api<Task>(`api/tasks/${path}`), [id]);
  const logs = useLoad(() => api<{ logs: LogLine[] }>(`api/tasks/${path}/logs`), [id]);
  const receipts = useLoad(() => api<ReceiptChain>(`api/tasks/${path}/receipts`), [id]);
  const [actionError, setActionError] = useState<string | null>(null);

  const reload = useThrottle(() => {
    task.reload();
    logs.reload();
    receipts.reload();
  }, 250);
  useEvents(`api/events?task_id=${path}`, reload);

  const act = async (what: 'cancel' | 'retry') => {
    setActionError(null);
    try {
      if (what === 'cancel') {
        await api(`api/tasks/${path}`, { method: 'DELETE' });
        reload();
      } else {
        const next = await api<Task>(`api/tasks/${path}/retry`, { method: 'POST' });
        navigate(href('tasks', next.id));
      }
    } catch (e) {
      setActionError(e instanceof Error ? e.message : String(e));
    }
  };

  const t = task.data;
  if (!t) return <LoadError error={task.error} />;
  const canRetry = (t.status === 'failed' || t.status === 'cancelled') && t.workflow_id === null;
  return (
    <>
      <Section
        title={t.name ?? t.step_id ?? t.id}
        actions={
          <div class="actions">
            {UNFINISHED.has(t.status) && (
              <button type="button" class="danger" onClick={() => void act('cancel')}>
                Cancel
              </button>
            )}
            {canRetry && (
              <button type="button" onClick={() => void act('retry')}>
                Retry
              </button>
            )}
          </div>
        }
      >
        {actionError && (
          <p class="error" role="alert">
            {actionError}
          </p>
        )}
        <dl class="fields" data-testid="task-fields">
          <dt>Status</dt>
          <dd>
            <StatusBadge status={t.status} />
          </dd>
          <dt>Id</dt>
          <dd>
            <code>{t.id}</code>
          </dd>
          <dt>Type</dt>
          <dd>{t.type}</dd>
          <dt>Queue</dt>
          <dd>{t.queue}</dd>
          <dt>Attempts</dt>
          <dd>
            {t.attempts} (retries allowed: {t.max_retries})
          </dd>
          <dt>Progress</dt>
          <dd>
            <ProgressBar value={t.progress} /> {t.progress}% {t.progress_message ?? ''}
          </dd>
          <dt>Executor</dt>
          <dd>{t.executor_id ?? <span class="muted">—</span>}</dd>
          {t.workflow_id && (
            <>
              <dt>Workflow</dt>
              <dd>
                <a href={href('workflows', t.workflow_id)}>{t.workflow_id}</a> step <b>{t.step_id}</b>
              </dd>
            </>
          )}
          {t.retry_of && (
            <>
              <dt>Retry of</dt>
              <dd>
                <a href={href('tasks', t.retry_of)}>{t.retry_of}</a>
              </dd>
            </>
          )}
          <dt>Created</dt>
          <dd>
            <When at={t.created_at} />
          </dd>
          <dt>Started</dt>
          <dd>
            <When at={t.started_at} />
          </dd>
          <dt>Finished</dt>
          <dd>
            <When at={t.finished_at} />
          </dd>
        </dl>
        <div class="json-grid">
          <div>
            <h3>Payload</h3>
            <Json value={t.payload} />
          </div>
          <div>
            <h3>Result</h3>
            <Json value={t.result} />
          </div>
          <div>
            <h3>Error</h3>
            <Json value={t.error} />
          </div>
        </div>
      </Section>
      <Section title="Receipts">
        <LoadError error={receipts.error} />
        {receipts.data && <Verdict chain={receipts.data} />}
        {receipts.data && receipts.data.receipts.length > 0 && (
          <table class="table" data-testid="receipts-table">
            <thead>
              <tr>
                <th>#</th>
                <th>Status</th>
                <th>At</th>
                <th>Executor</th>
                <th>Progress</th>
                <th>Previous hash</th>
                <th>Hash</th>
              </tr>
            </thead>
            <tbody>
              {receipts.data.receipts.map((r) => (
                <tr key={r.id}>
                  <td class="num">{r.seq}</td>
                  <td>{r.status}</td>
                  <td>{new Date(r.timestamp_iso).toLocaleTimeString()}</td>
                  <td>{r.executor_id ?? <span class="muted">—</span>}</td>
                  <td class="num">{r.progress}%</td>
                  <td>{hash(r.previous_receipt_hash)}</td>
                  <td>{hash(r.receipt_hash)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Logs">
        <LoadError error={logs.error} />
        {logs.data && logs.data.logs.length === 0 && <p class="muted">No log lines.</p>}
        {logs.data && logs.data.logs.length > 0 && (
          <ol class="logs" data-testid="task-logs">
            {logs.data.logs.map((l) => (
              <li key={l.seq}>
                <time>{new Date(l.at).toLocaleTimeString()}</time> <span class="muted">#{l.attempt}</span>{' '}
                {l.message}
              </li>
            ))}
          </ol>
        )}
      </Section>
    </>
  );
}
