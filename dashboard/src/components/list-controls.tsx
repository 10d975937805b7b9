/**
 * @module components/list-controls
 * What the lists share: text filters applied on Enter or blur, and paging over the API's
 * `next_cursor` (which only goes forward, so the cursors of earlier pages are kept to go back).
 */
import { useEffect, useState } from 'preact/hooks';

/** Its own state while typing, so the list's refresh every few seconds does not reset the text. */
export function FilterInput({
  name,
  value,
  onCommit,
  placeholder = 'any',
}: {
  name: string;
  value: string;
  onCommit: (value: string) => void;
  placeholder?: string;
}) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return (
    <input
      name={name}
      value={text}
      placeholder={placeholder}
      onInput={(e) => setText(e.currentTarget.value)}
      onChange={(e) => onCommit(e.currentTarget.value.trim())}
    />
  );
}

export interface Paging {
  /** The cursor of the page shown; undefined on the first. */
  cursor: string | undefined;
  number: number;
  back: () => void;
  forward: (next: string) => void;
}

/** Paging that starts over whenever `filters` (a key of the list's filters) changes. */
export function usePaging(filters: string): Paging {
  const [state, setState] = useState<{ filters: string; cursors: string[] }>({ filters, cursors: [] });
  const cursors = state.filters === filters ? state.cursors : [];
  return {
    cursor: cursors[cursors.length - 1],
    number: cursors.length + 1,
    back: () => setState({ filters, cursors: cursors.slice(0, -1) }),
    forward: (next) => setState({ filters, cursors: [...cursors, next] }),
  };
}

export function Pager({ paging, next }: { paging: Paging; next: string | null | undefined }) {
  if (paging.number === 1 && !next) return null;
  return (
    <nav class="pager">
      <button type="button" disabled={paging.number === 1} onClick={paging.back}>
        ← Newer
      </button>
      <span class="muted">page {paging.number}</span>
      <button type="button" disabled={!next} onClick={() => next && paging.forward(next)}>
        Older →
      </button>
    </nav>
  );
}
