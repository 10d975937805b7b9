/**
 * @module http-client
 * A small JSON-first HTTP client for handlers, over Node's built-in fetch (undici), declared
 * as a resource (`resources: { http: () => createHttpClient({ baseUrl }) }`). What it adds
 * to fetch is what handlers otherwise each get wrong: a timeout on every request, the
 * handler's `ctx.signal` honoured, retries only where repeating a request is safe, and a
 * typed error for a failed status instead of a response nobody checked.
 */
import { z } from 'zod';
import { backoffDelayMs, type BackoffPolicy } from '../core/backoff.js';
import { ClosedError, ConveyorError, ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';
import { parseInput } from '../engine/validation.js';

export interface HttpClientOptions {
  /** Prefix of relative paths: `baseUrl: 'https://api.example.com/v1'`, `get('/users')`. */
  baseUrl?: string;
  /** Sent with every request; a request's own headers win. */
  headers?: Record<string, string>;
  /** Per attempt, from sending to the end of the body. Default 10000. */
  timeoutMs?: number;
  /** Retries of an idempotent request after a network error or a 502/503/504. Default 2. */
  retries?: number;
  /** Delay before the first retry, doubling after (jittered, at most 5 s). Default 100. */
  retryDelayMs?: number;
  /** Throw an `HttpError` (HTTP_STATUS) for a status outside 200–299. Default true. */
  throwOnError?: boolean;
}

export interface HttpRequestOptions {
  headers?: Record<string, string>;
  /** Appended to the URL's query string; `undefined` values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body (sets content-type: application/json). */
  json?: JsonValue;
  /** A raw body, sent as it is; use `json` for JSON. */
  body?: string | Uint8Array;
  /** Aborts the request, e.g. the handler's `ctx.signal`; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  timeoutMs?: number;
  retries?: number;
  throwOnError?: boolean;
}

export interface HttpResponse<T = unknown> {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** Parsed JSON when the content-type is JSON (`null` when empty), else the text. */
  body: T;
}

type RequestBody = Omit<HttpRequestOptions, 'json'>;

export interface HttpClient {
  request<T = unknown>(method: string, path: string, options?: HttpRequestOptions): Promise<HttpResponse<T>>;
  get<T = unknown>(path: string, options?: HttpRequestOptions): Promise<HttpResponse<T>>;
  post<T = unknown>(path: string, json?: JsonValue, options?: RequestBody): Promise<HttpResponse<T>>;
  put<T = unknown>(path: string, json?: JsonValue, options?: RequestBody): Promise<HttpResponse<T>>;
  delete<T = unknown>(path: string, options?: HttpRequestOptions): Promise<HttpResponse<T>>;
  /** Safe to call more than once; requests after it throw CLOSED. There is nothing else to release. */
  close(): Promise<void>;
}

type HttpErrorCode = 'HTTP_STATUS' | 'HTTP_TIMEOUT' | 'HTTP_FAILED';

/**
 * A request that did not succeed: `HTTP_STATUS` (a status outside 200–299; `status` and
 * `response` say which), `HTTP_TIMEOUT` (no complete response within `timeoutMs`) or
 * `HTTP_FAILED` (no usable response: connection refused or reset, DNS, invalid JSON).
 */
export class HttpError extends ConveyorError {
  readonly method: string;
  readonly url: string;
  readonly status: number | undefined;
  readonly response: HttpResponse | undefined;

  constructor(
    code: HttpErrorCode,
    request: { method: string; url: string },
    problem: string,
    options: { response?: HttpResponse; cause?: unknown } = {},
  ) {
    const status = options.response?.status;
    super(code, `${request.method} ${request.url}: ${problem}`, {
      cause: options.cause,
      details: { method: request.method, url: request.url, ...(status === undefined ? {} : { status }) },
    });
    this.name = 'HttpError';
    this.method = request.method;
    this.url = request.url;
    this.status = status;
    this.response = options.response;
  }
}

/** RFC 9110 §9.2.2: repeating these has the effect of sending them once. POST and PATCH are not. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** A gateway or an overloaded server: the next attempt may well succeed. */
const RETRY_STATUSES = new Set([502, 503, 504]);
const MAX_RETRY_DELAY_MS = 5000;

const optionsSchema = z.strictObject({
  baseUrl: z.url().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
  retries: z.number().int().min(0).max(10).optional(),
  retryDelayMs: z.number().int().min(0).max(60_000).optional(),
  throwOnError: z.boolean().optional(),
});

/** What one attempt got back: the body read to the end, not yet parsed. */
interface RawResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  text: string;
}

class FetchHttpClient implements HttpClient {
  private closed = false;
  private readonly backoff: BackoffPolicy;

  constructor(private readonly o: z.output<typeof optionsSchema>) {
    this.backoff = {
      type: 'exponential',
      baseMs: o.retryDelayMs ?? 100,
      maxMs: MAX_RETRY_DELAY_MS,
      jitter: 0.5,
    };
  }

  get<T>(path: string, options?: HttpRequestOptions) {
    return this.request<T>('GET', path, options);
  }
  post<T>(path: string, json?: JsonValue, options: RequestBody = {}) {
    return this.request<T>('POST', path, json === undefined ? options : { ...options, json });
  }
  put<T>(path: string, json?: JsonValue, options: RequestBody = {}) {
    return this.request<T>('PUT', path, json === undefined ? options : { ...options, json });
  }
  delete<T>(path: string, options?: HttpRequestOptions) {
    return this.request<T>('DELETE', path, options);
  }

  async request<T>(method: string, path: string, options: HttpRequestOptions = {}): Promise<HttpResponse<T>> {
    if (this.closed) throw new ClosedError('http client');
    const req = { method: method.toUpperCase(), url: this.url(path, options.query) };
    const init: RequestInit = { method: req.method, headers: this.headers(options) };
    if (options.json !== undefined) init.body = JSON.stringify(options.json);
    else if (options.body !== undefined) init.body = options.body;
    const timeoutMs = options.timeoutMs ?? this.o.timeoutMs ?? 10_000;
    const retries = IDEMPOTENT.has(req.method) ? (options.retries ?? this.o.retries ?? 2) : 0;
    for (let attempt = 1; ; attempt++) {
      let raw: RawResponse;
      try {
        raw = await attemptFetch(req, init, timeoutMs, options.signal);
      } catch (e) {
        if (!(e instanceof HttpError && e.code === 'HTTP_FAILED') || attempt > retries) throw e;
        await sleep(backoffDelayMs(this.backoff, attempt), options.signal);
        continue;
      }
      if (RETRY_STATUSES.has(raw.status) && attempt <= retries) {
        const wait = Math.max(backoffDelayMs(this.backoff, attempt), retryAfterMs(raw.headers));
        await sleep(Math.min(wait, MAX_RETRY_DELAY_MS), options.signal);
        continue;
      }
      return this.settle<T>(req, raw, options.throwOnError ?? this.o.throwOnError ?? true);
    }
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private settle<T>(req: { method: string; url: string }, raw: RawResponse, throwOnError: boolean) {
    const ok = raw.status >= 200 && raw.status < 300;
    const type = raw.headers['content-type'] ?? '';
    let body: unknown = raw.text;
    if (/^application\/(?:[\w.-]+\+)?json\b/i.test(type)) {
      try {
        body = raw.text === '' ? null : JSON.parse(raw.text);
      } catch (cause) {
        // An error page served as JSON that is not: keep its text, the status says enough.
        if (ok) throw new HttpError('HTTP_FAILED', req, 'the response is not valid JSON', { cause });
      }
    }
    const response: HttpResponse<T> = { status: raw.status, headers: raw.headers, body: body as T };
    if (!ok && throwOnError) {
      throw new HttpError('HTTP_STATUS', req, `${raw.status} ${raw.statusText}`.trim(), { response });
    }
    return response;
  }

  private url(path: string, query: HttpRequestOptions['query']): string {
    let url: URL;
    if (/^[a-z][a-z\d+.-]*:\/\//i.test(path)) url = new URL(path);
    else if (this.o.baseUrl === undefined) {
      throw new ValidationError([
        { field: 'path', message: 'must be an absolute URL when there is no baseUrl' },
      ]);
    } else {
      // Joined as text: new URL('/users', base) would drop the base's own path (/v1).
      url = new URL(`${this.o.baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
    }
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined) url.searchParams.append(k, String(v));
    return url.toString();
  }

  private headers(options: HttpRequestOptions): Headers {
    const headers = new Headers({ accept: 'application/json, text/plain;q=0.9, */*;q=0.8' });
    for (const [k, v] of Object.entries({ ...this.o.headers, ...options.headers })) headers.set(k, v);
    if (options.json !== undefined && !headers.has('content-type'))
      headers.set('content-type', 'application/json');
    return headers;
  }
}

/**
 * One fetch, body included, under its own timer. The caller's signal and the timer abort
 * the same controller, so a cancelled handler stops waiting at once; which of the two fired
 * decides the error: the caller's reason as it is, or HTTP_TIMEOUT.
 */
async function attemptFetch(
  req: { method: string; url: string },
  init: RequestInit,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<RawResponse> {
  signal?.throwIfAborted();
  const controller = new AbortController();
  const timeout = new HttpError('HTTP_TIMEOUT', req, `no complete response within ${timeoutMs} ms`);
  const timer = setTimeout(() => controller.abort(timeout), timeoutMs);
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await fetch(req.url, { ...init, signal: controller.signal });
    const text = await res.text();
    return { status: res.status, statusText: res.statusText, headers: Object.fromEntries(res.headers), text };
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (controller.signal.reason === timeout) throw timeout;
    // undici says "fetch failed" and puts the reason (ECONNREFUSED …) in its cause.
    const cause = (e as { cause?: { message?: unknown } }).cause;
    const why = typeof cause?.message === 'string' ? cause.message : String((e as Error).message ?? e);
    throw new HttpError('HTTP_FAILED', req, why, { cause: e });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The server's Retry-After in ms (seconds or an HTTP date); 0 when absent or unreadable. */
function retryAfterMs(headers: Record<string, string>): number {
  const value = headers['retry-after'];
  if (value === undefined) return 0;
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** An HTTP client for handlers; one per base URL, shared by every handler through `ctx.resources`. */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  return new FetchHttpClient(parseInput(optionsSchema, options));
}
