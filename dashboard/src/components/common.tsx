/**
 * @module components/common
 * Small pieces every page uses: status badges, progress bars, JSON blocks, times, and
 * the message shown when a load failed.
 */
import type { ComponentChildren } from 'preact';

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge s-${status}`}>{status}</span>;
}

export function ProgressBar({ value, label }: { value: number; label?: string }) {
  const pct = Math.max(0, Math.min(100, value));
  return (
    <span class="progress" title={label ?? `${pct}%`} role="progressbar" aria-valuenow={pct}>
      <span class="progress-fill" style={{ width: `${pct}%` }} />
    </span>
  );
}

export function Json({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

/** `3 s ago`, `5 min ago`, with the exact time on hover. */
export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span class="muted">—</span>;
  const seconds = Math.round((Date.now() - Date.parse(at)) / 1000);
  const ago =
    seconds < 60
      ? `${Math.max(0, seconds)} s ago`
      : seconds < 3600
        ? `${Math.floor(seconds / 60)} min ago`
        : seconds < 86_400
          ? `${Math.floor(seconds / 3600)} h ago`
          : new Date(at).toLocaleDateString();
  return <time title={new Date(at).toLocaleString()}>{ago}</time>;
}

/** The tail of a long id, which is the part that differs between neighbours (UUIDv7s share a prefix). */
export function shortId(id: string): string {
  return id.length > 14 ? `…${id.slice(-12)}` : id;
}

export function LoadError({ error }: { error: Error | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error.message}
    </p>
  );
}

export function Section({
  title,
  children,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section class="card">
      <header class="card-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}
