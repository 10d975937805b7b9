/**
 * @module pages/executors
 * `#/executors`: the tenant's executors (in-process workers and remote ones) with their
 * capabilities, concurrency and last heartbeat, refreshed every few seconds. One not
 * heard from (no claim, no heartbeat) for a minute is marked stale.
 */
import { api, type Executor } from '../api.js';
import { LoadError, Section, When } from '../components/common.js';
import { useLoad } from '../hooks.js';

/** Twice the default lease (30 s): a working executor renews its leases well within that. */
const STALE_MS = 60_000;

export function ExecutorsPage() {
  const list = useLoad(() => api<{ executors: Executor[] }>('api/executors'), [], 5000);
  const executors = list.data?.executors ?? [];
  return (
    <Section title="Executors">
      <LoadError error={list.error} />
      {list.data && executors.length === 0 && (
        <p class="muted empty" data-testid="executors-empty">
          No executors have registered.
        </p>
      )}
      {executors.length > 0 && (
        <table class="table" data-testid="executors-table">
          <thead>
            <tr>
              <th>Id</th>
              <th>Capabilities</th>
              <th>Concurrency</th>
              <th>State</th>
              <th>Last heartbeat</th>
              <th>Registered</th>
            </tr>
          </thead>
          <tbody>
            {executors.map((e) => {
              const stale = Date.now() - Date.parse(e.last_seen_at) > STALE_MS;
              return (
                <tr key={e.id} data-executor-id={e.id}>
                  <td>
                    <code>{e.id}</code>
                  </td>
                  <td>
                    {e.capabilities.length === 0 ? (
                      <span class="muted">none</span>
                    ) : (
                      e.capabilities.map((c) => (
                        <span key={c} class="chip chip-on">
                          {c}
                        </span>
                      ))
                    )}
                  </td>
                  <td class="num">{e.concurrency}</td>
                  <td>
                    {stale ? (
                      <span class="badge s-failed">stale</span>
                    ) : (
                      <span class={`badge ${e.busy ? 's-running' : 's-completed'}`}>
                        {e.busy ? 'busy' : 'idle'}
                      </span>
                    )}
                  </td>
                  <td>
                    <When at={e.last_seen_at} />
                  </td>
                  <td>
                    <When at={e.registered_at} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Section>
  );
}
