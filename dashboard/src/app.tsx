/**
 * @module app
 * The shell: navigation, the API key gate and the hash router. Any 401 from any call
 * swaps the page for the key form; once a key is accepted the page is mounted afresh,
 * so everything it loads is asked for again with the key.
 */
import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized, storedKey, storeKey } from './api.js';
import { KeyForm } from './components/key-form.js';
import { ExecutorsPage } from './pages/executors.js';
import { TaskPage } from './pages/task.js';
import { TasksPage } from './pages/tasks.js';
import { WorkflowPage } from './pages/workflow.js';
import { WorkflowsPage } from './pages/workflows.js';
import { useRoute, type Route } from './router.js';

const NAV = [
  { path: 'tasks', label: 'Tasks' },
  { path: 'workflows', label: 'Workflows' },
  { path: 'executors', label: 'Executors' },
] as const;

function Page({ route }: { route: Route }) {
  const [section = 'tasks', id] = route.parts;
  if (section === 'tasks') return id ? <TaskPage id={id} /> : <TasksPage params={route.params} />;
  if (section === 'workflows') return id ? <WorkflowPage id={id} /> : <WorkflowsPage params={route.params} />;
  if (section === 'executors') return <ExecutorsPage />;
  return <p class="error">No page {location.hash}.</p>;
}

export function App() {
  const route = useRoute();
  const [needKey, setNeedKey] = useState(false);
  // Bumped when a key is accepted or dropped: remounts the page so it loads again.
  const [session, setSession] = useState(0);
  useEffect(() => onUnauthorized(() => setNeedKey(true)), []);
  const section = route.parts[0] ?? 'tasks';
  const hasKey = storedKey() !== null;

  return (
    <>
      <header class="top">
        <a class="brand" href="#/tasks">
          Conveyor
        </a>
        <nav>
          {NAV.map((n) => (
            <a key={n.path} href={`#/${n.path}`} class={section === n.path ? 'active' : ''}>
              {n.label}
            </a>
          ))}
        </nav>
        {hasKey && !needKey && (
          <button
            type="button"
            class="link"
            onClick={() => {
              storeKey(null);
              setSession((s) => s + 1);
            }}
          >
            Forget API key
          </button>
        )}
      </header>
      <main>
        {needKey ? (
          <KeyForm
            onAccepted={() => {
              setNeedKey(false);
              setSession((s) => s + 1);
            }}
          />
        ) : (
          <Page key={session} route={route} />
        )}
      </main>
    </>
  );
}
