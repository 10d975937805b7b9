/**
 * @module cli/api-client
 * The client commands' view of a running server: JSON requests to the HTTP API of
 * CONTRACT §6 with the API key, its error body turned into an ApiError, and a server that
 * cannot be reached turned into one message naming the URL instead of a stack trace.
 */
import { ApiError, UnreachableError, UsageError } from './errors.js';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export interface ClientOptions {
  /** The server's base URL (`--url`, CONVEYOR_URL). */
  url?: string | undefined;
  /** `--api-key`, CONVEYOR_API_KEY. */
  apiKey?: string | undefined;
}

/** fetch's own failure reason, e.g. ECONNREFUSED or ENOTFOUND, from its `cause` chain. */
function reasonOf(e: unknown): string {
  let cause: unknown = e;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    const inner: unknown = cause.cause ?? (cause instanceof AggregateError ? cause.errors[0] : undefined);
    if (inner === undefined) return cause.message;
    cause = inner;
  }
  return String(cause);
}

/** The error a non-2xx answer stands for: the API's error body, or what came instead. */
export async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    const e = body.error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string')
      return new ApiError(
        res.status,
        e.code,
        e.message,
        e.details && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : undefined,
      );
  } catch {
    // not JSON: not a Conveyor server answering, or a proxy in front of it
  }
  const snippet = text.replace(/\s+/g, ' ').slice(0, 200);
  return new ApiError(res.status, `HTTP_${res.status}`, `unexpected answer from ${res.url}: ${snippet}`);
}

export class ApiClient {
  readonly base: string;
  private readonly apiKey: string | undefined;

  constructor(options: ClientOptions = {}) {
    const url = options.url || DEFAULT_URL;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`--url: ${JSON.stringify(url)} is not a URL (e.g. ${DEFAULT_URL})`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new UsageError(`--url: ${JSON.stringify(url)} must be an http:// or https:// URL`);
    this.base = parsed.href.replace(/\/+$/, '');
    this.apiKey = options.apiKey || undefined;
  }

  /** A raw request (the event stream needs the Response); unreachable → UnreachableError. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.apiKey !== undefined) headers.set('authorization', `Bearer ${this.apiKey}`);
    try {
      return await fetch(this.base + path, { ...init, headers });
    } catch (e) {
      if (init.signal?.aborted) throw e;
      throw new UnreachableError(
        `cannot reach the Conveyor server at ${this.base} (${reasonOf(e)}); ` +
          'is it running? Start one with `conveyor start`, or point --url (CONVEYOR_URL) at it',
      );
    }
  }

  /** A JSON request; a non-2xx answer throws the ApiError of its body. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(path, {
      method,
      ...(body !== undefined
        ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
        : {}),
    });
    if (!res.ok) throw await errorFrom(res);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(res.status, 'BAD_RESPONSE', `${this.base}${path} did not answer JSON`);
    }
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }
}

/** `?a=1&b=2` of the defined entries (empty string when there are none). */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/** `/api/tasks/<id>` with the id escaped, so a typo cannot reach another route. */
export const segment = (id: string): string => encodeURIComponent(id);
