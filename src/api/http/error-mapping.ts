/**
 * @module error-mapping
 * The one place that knows HTTP status codes (STYLE: the core never does): a
 * `ConveyorError` code → status, and every error Fastify itself raises (schema
 * validation, a body too large or not JSON, a rate limit) → the error body of CONTRACT §6,
 * `{ "error": { "code", "message", "details"? } }`. Nothing reaches a client as a stack
 * trace; an error nobody expected is logged and answered 500 INTERNAL.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ConveyorError, type ErrorCode } from '../../core/errors.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  VALIDATION: 400,
  CYCLE: 400,
  TEMPLATE: 400,
  URL_BLOCKED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN_HOST: 403,
  NOT_FOUND: 404,
  // Naming another tenant's item as a dependency must not tell that it exists.
  TENANT_MISMATCH: 404,
  INVALID_TRANSITION: 409,
  CONFLICT: 409,
  LEASE_LOST: 409,
  EXECUTOR_BUSY: 409,
  NOT_DUE: 409,
  CAPABILITY_MISMATCH: 409,
  BUDGET_EXCEEDED: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  CLOSED: 503,
  STORE: 503,
};

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function errorBody(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Status and body for any error a route or Fastify raised. */
export function toHttpError(e: unknown): { status: number; body: ErrorBody } {
  if (e instanceof ConveyorError) {
    if (e.code === 'TENANT_MISMATCH') {
      // Exactly what an id that does not exist gets (enqueue's NotFoundError('dependency')).
      const id = typeof e.details?.id === 'string' ? e.details.id : '';
      const field = typeof e.details?.field === 'string' ? e.details.field : '';
      return {
        status: 404,
        body: errorBody('NOT_FOUND', `dependency ${JSON.stringify(id)} not found`, {
          what: 'dependency',
          id,
          field,
        }),
      };
    }
    return { status: STATUS[e.code] ?? 500, body: errorBody(e.code, e.message, e.details) };
  }
  const f = e as Partial<FastifyError> & {
    validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>;
    validationContext?: string;
  };
  if (f.validation) {
    const issues = f.validation.slice(0, 10).map((v) => ({
      field: fieldOf(f.validationContext ?? 'body', v.instancePath ?? '', v.params),
      message:
        v.params?.additionalProperty !== undefined ? 'is not a known field' : (v.message ?? 'is invalid'),
    }));
    const first = issues[0] ?? { field: '(input)', message: 'is invalid' };
    return { status: 400, body: errorBody('VALIDATION', `${first.field}: ${first.message}`, { issues }) };
  }
  switch (f.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: errorBody('PAYLOAD_TOO_LARGE', 'request body is larger than the limit') };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 400, body: errorBody('VALIDATION', 'body: content-type must be application/json') };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        body: errorBody('VALIDATION', 'body: must not be empty with content-type application/json'),
      };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 400, body: errorBody('VALIDATION', 'a path parameter is too long') };
    case 'FST_ERR_BAD_URL':
      return { status: 400, body: errorBody('VALIDATION', 'the URL is malformed') };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: errorBody('VALIDATION', `body: ${f.message ?? 'is not valid JSON'}`) };
  }
  if (f.statusCode === 429) {
    return { status: 429, body: errorBody('RATE_LIMITED', f.message ?? 'too many requests') };
  }
  if (e instanceof SyntaxError)
    return { status: 400, body: errorBody('VALIDATION', `body: is not valid JSON (${e.message})`) };
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    return { status: f.statusCode, body: errorBody('VALIDATION', f.message ?? 'bad request') };
  }
  return { status: 500, body: errorBody('INTERNAL', 'internal error') };
}

/** `body` + `/steps/2/type` → `steps[2].type`; a missing property names the property itself. */
function fieldOf(part: string, instancePath: string, params: Record<string, unknown> | undefined): string {
  const segments = instancePath.split('/').filter((s) => s !== '');
  const extra = params?.missingProperty ?? params?.additionalProperty;
  if (typeof extra === 'string') segments.push(extra);
  let out = part === 'body' ? '' : part === 'querystring' ? 'query' : part;
  for (const s of segments) out += /^\d+$/.test(s) ? `[${s}]` : out ? `.${s}` : s;
  return out || part;
}

export function sendError(reply: FastifyReply, request: FastifyRequest, e: unknown): FastifyReply {
  const { status, body } = toHttpError(e);
  if (status >= 500) request.log.error({ err: e }, 'request failed');
  return reply.code(status).type('application/json').send(body);
}
