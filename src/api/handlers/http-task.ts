/**
 * @module handlers/http-task
 * The built-in `http` task type (CONTRACT §8): one HTTP(S) request, made through the same
 * SSRF guard as webhook deliveries (webhooks/outbound.ts), so a task's author cannot point
 * the server at its own admin ports, the cloud metadata endpoint or the internal network
 * unless the operator's outbound policy allows it. 5xx, 429 and network errors are
 * retried with the item's backoff (429/503 honour Retry-After); any other non-2xx fails
 * for good unless `okStatuses` lists it. Cancelling the task aborts the request.
 */
import { z } from 'zod';
import { ConveyorError, NonRetryableError, RetryAfterError } from '../../core/errors.js';
import type { Handler } from '../../worker/handler-context.js';
import { parsePayload } from './payload.js';
import { guardedRequest, type OutboundPolicy } from '../../webhooks/outbound.js';

const MAX_TIMEOUT_MS = 300_000;
const MAX_BODY_CHARS = 10 * 1024 * 1024;

const payloadSchema = z.strictObject({
  url: z.string().min(1).max(8192),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers: z
    .record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a header name'), z.string().max(8192))
    .optional(),
  /** A string is sent as is; anything else as JSON (with content-type application/json). */
  body: z.unknown().optional(),
  timeoutMs: z.number().int().min(1).max(MAX_TIMEOUT_MS).default(30_000),
  maxRedirects: z.number().int().min(0).max(20).default(5),
  maxBodyChars: z
    .number()
    .int()
    .min(0)
    .max(MAX_BODY_CHARS)
    .default(1024 * 1024),
  /** Statuses that count as success besides 2xx. */
  okStatuses: z.array(z.number().int().min(100).max(599)).max(100).optional(),
});

type HttpPayload = z.infer<typeof payloadSchema>;

function requestBody(p: HttpPayload): { body?: string; contentType?: string } {
  if (p.body === undefined || p.body === null) return {};
  if (typeof p.body === 'string') return { body: p.body };
  return { body: JSON.stringify(p.body), contentType: 'application/json' };
}

/** Seconds or an HTTP date → ms, or undefined when absent or unreadable. */
function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const jsonType = /^application\/([\w.+-]*\+)?json\b/i;

function decoded(text: string, type: string | undefined, truncated: boolean): unknown {
  if (truncated || type === undefined || !jsonType.test(type)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function createHttpTask(policy: OutboundPolicy): Handler {
  return async (payload: unknown, ctx) => {
    const p = parsePayload(payloadSchema, payload ?? {}, 'http');
    const { body, contentType } = requestBody(p);
    const headers: Record<string, string> = { 'user-agent': 'conveyor-http-task', ...p.headers };
    if (contentType && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
      headers['content-type'] = contentType;
    let answer;
    try {
      answer = await guardedRequest(
        p.url,
        { method: p.method, headers, ...(body !== undefined ? { body } : {}) },
        policy,
        {
          timeoutMs: p.timeoutMs,
          maxRedirects: p.maxRedirects,
          maxBodyChars: p.maxBodyChars,
          signal: ctx.signal,
          label: 'http task',
        },
      );
    } catch (e) {
      // A refused target will be refused again: no point retrying.
      if (e instanceof ConveyorError && e.code === 'URL_BLOCKED')
        throw new NonRetryableError(e.message, { cause: e });
      throw e;
    }
    const type = answer.headers['content-type'];
    const result = {
      status: answer.status,
      headers: { 'content-type': typeof type === 'string' ? type : null },
      body: decoded(answer.body, typeof type === 'string' ? type : undefined, answer.truncated),
      truncated: answer.truncated,
      urls: answer.urls,
      durationMs: answer.durationMs,
    };
    const ok = (answer.status >= 200 && answer.status < 300) || p.okStatuses?.includes(answer.status);
    if (ok) return result;
    const message = `http: ${p.method} ${p.url} answered ${answer.status}`;
    if (answer.status === 429 || answer.status === 503) {
      const wait = retryAfterMs(answer.headers['retry-after']);
      if (wait !== undefined) throw new RetryAfterError(message, wait);
    }
    if (answer.status >= 500 || answer.status === 429 || answer.status === 408) throw new Error(message);
    throw new NonRetryableError(message);
  };
}
