/**
 * @module components/key-form
 * Asks for an API key when the server answered 401. The key is tried before it is
 * stored, so a wrong one is refused here with the server's reason instead of sending
 * every page into the same 401 again.
 */
import { useState } from 'preact/hooks';
import { api, ApiError, storeKey, storedKey } from '../api.js';

export function KeyForm({ onAccepted }: { onAccepted: () => void }) {
  const [key, setKey] = useState('');
  const [message, setMessage] = useState<string | null>(() =>
    storedKey() ? 'The stored API key was refused; enter another one.' : null,
  );
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const candidate = key.trim();
    if (candidate === '') return;
    setBusy(true);
    try {
      await api('api/tasks?limit=1', { key: candidate });
      storeKey(candidate);
      onAccepted();
    } catch (err) {
      setMessage(
        err instanceof ApiError && err.status === 401
          ? `This key was refused: ${err.message}.`
          : `Could not check the key: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card key-form" onSubmit={(e) => void submit(e)} data-testid="key-form">
      <h2>API key required</h2>
      <p>
        This server has API keys configured. Enter yours; it is kept in this browser's local storage and sent
        as <code>Authorization: Bearer …</code> with every request.
      </p>
      <label>
        API key
        <input
          type="password"
          name="api-key"
          autoComplete="off"
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          autoFocus
        />
      </label>
      <button type="submit" disabled={busy}>
        Use this key
      </button>
      {message && (
        <p class="error" role="alert" data-testid="key-error">
          {message}
        </p>
      )}
    </form>
  );
}
