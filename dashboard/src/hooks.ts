/**
 * @module hooks
 * Loading with auto-refresh, and following the event stream, as Preact hooks. Answers
 * that arrive after the page moved on (other filters, another id) are dropped, so a slow
 * response never overwrites a newer one.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { followEvents, type StreamEvent } from './sse.js';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  /** Loads again now (after an action, or when an event says something changed). */
  reload: () => void;
}

/** Runs `load` when `deps` change and every `everyMs` (if given); keeps the last data on a failed refresh. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  // New deps: what was shown belongs to the old ones.
  useEffect(() => {
    setData(undefined);
    setError(undefined);
  }, deps);

  useEffect(() => {
    const mine = ++generation.current;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const value = await loadRef.current();
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
      } catch (e) {
        if (mine !== generation.current) return;
        setError(e instanceof Error ? e : new Error(String(e)));
      }
      // The next refresh waits for this one: a slow server never has requests piling up.
      if (everyMs !== undefined && mine === generation.current) timer = setTimeout(() => void run(), everyMs);
    };
    void run();
    return () => {
      generation.current++;
      clearTimeout(timer);
    };
  }, [...deps, tick, everyMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}

/** Follows the event stream at `path` (null: none) while the component is mounted. */
export function useEvents(path: string | null, onEvent: (e: StreamEvent) => void): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => (path === null ? undefined : followEvents(path, (e) => handler.current(e))), [path]);
}

/** `fn` at most once per `ms`, the last call always honoured (trailing edge). */
export function useThrottle(fn: () => void, ms: number): () => void {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      fnRef.current();
    }, ms);
  }, [ms]);
}
