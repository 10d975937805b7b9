/**
 * @module router
 * Hash routes (`#/tasks`, `#/tasks/<id>`, `#/workflows/<id>`, `#/executors`): the server
 * serves one index.html and needs no fallback for client-side paths. A list's filters
 * live in the hash's query (`#/tasks?status=failed`), so a filtered view can be linked.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** Decoded path segments: `#/tasks/a%3Ab` → ['tasks', 'a:b']. */
  parts: string[];
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  return { parts, params: new URLSearchParams(search) };
}

/** `href('tasks', id)` → `#/tasks/<id, encoded>`; ids of workflow steps hold `:`. */
export function href(...parts: string[]): string {
  return `#/${parts.map((p) => encodeURIComponent(p)).join('/')}`;
}

export function withParams(base: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s === '' ? base : `${base}?${s}`;
}

export function navigate(to: string): void {
  location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
