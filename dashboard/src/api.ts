/**
 * @module api
 * The dashboard's only way to the server: the HTTP API of CONTRACT §6, with the API key
 * kept in localStorage and sent as `Authorization: Bearer <key>` on every call. A 401
 * tells the app to ask for a key instead of each page handling it. The types are the
 * subset of the API's JSON (src/client/views.ts) that the pages read.
 */

export const TASK_STATUSES = [
  'pending',
  'queued',
  'assigned',
  'running',
  'completed',
  'failed',
  'cancelled',
  'skipped',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const WORKFLOW_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;

/** Statuses a task can still leave; only these can be cancelled. */
export const UNFINISHED = new Set<string>(['pending', 'queued', 'assigned', 'running']);

export interface Task {
  id: string;
  name: string | null;
  type: string;
  status: TaskStatus;
  queue: string;
  priority: number;
  payload: unknown;
  result: unknown;
  error: unknown;
  progress: number;
  progress_message: string | null;
  attempts: number;
  retries: number;
  max_retries: number;
  executor_id: string | null;
  workflow_id: string | null;
  step_id: string | null;
  retry_of: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface WorkflowSummary {
  id: string;
  name: string;
  status: string;
  progress: number;
  error: unknown;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface Step {
  id: string;
  task_id: string | null;
  type: string;
  dependencies: string[];
  status: string;
  attempts: number;
  error: unknown;
  started_at: string | null;
  finished_at: string | null;
}

export interface Workflow extends WorkflowSummary {
  description: string | null;
  tasks: Step[];
}

export interface LogLine {
  seq: number;
  attempt: number;
  at: string;
  message: string;
}

export interface Receipt {
  id: string;
  seq: number;
  status: string;
  timestamp_iso: string;
  executor_id: string | null;
  progress: number;
  retry_count: number;
  previous_receipt_hash: string | null;
  receipt_hash: string;
}

export interface ReceiptChain {
  valid: boolean;
  count: number;
  first_broken_seq: number | null;
  reason: string | null;
  receipts: Receipt[];
}

export interface Executor {
  id: string;
  capabilities: string[];
  concurrency: number;
  busy: boolean;
  registered_at: string;
  last_seen_at: string;
}

export type Counts = Record<TaskStatus, number>;
export interface QueueSample {
  at: string;
  counts: Counts;
}
export interface QueueStats {
  now: QueueSample;
  samples: QueueSample[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const KEY_STORAGE = 'conveyor.api-key';

export function storedKey(): string | null {
  return localStorage.getItem(KEY_STORAGE);
}

export function storeKey(key: string | null): void {
  if (key === null) localStorage.removeItem(KEY_STORAGE);
  else localStorage.setItem(KEY_STORAGE, key);
}

const unauthorizedListeners = new Set<() => void>();

/** Calls `listener` whenever the server answers 401; returns the unsubscribe. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function reportUnauthorized(): void {
  for (const listener of unauthorizedListeners) listener();
}

export function authHeaders(key = storedKey()): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

interface CallOptions {
  method?: string;
  body?: unknown;
  /** Try this key instead of the stored one; a 401 then is the caller's to handle. */
  key?: string;
}

/**
 * Calls the API and returns its JSON. Paths are relative (`api/tasks`), so a dashboard
 * served under a proxy's path prefix reaches the API under the same prefix.
 */
export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  const headers = authHeaders(options.key ?? storedKey());
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    // A proxy's HTML error page: the status says enough.
  }
  if (!res.ok) {
    if (res.status === 401 && options.key === undefined) reportUnauthorized();
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, error?.code ?? 'HTTP', error?.message ?? `HTTP ${res.status}`);
  }
  return json as T;
}

/** `?a=1&b=2` of the parameters that have a value. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}
