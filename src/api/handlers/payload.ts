/**
 * @module handlers/payload
 * A built-in handler's payload, checked against its schema: a bad one fails the task for
 * good (retrying cannot fix it) with a message naming the field, `http: payload.url: …`.
 */
import type { z } from 'zod';
import { NonRetryableError } from '../../core/errors.js';

export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown, type: string): z.output<S> {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.length > 0 ? `payload.${issue.path.join('.')}` : 'payload';
  throw new NonRetryableError(`${type}: ${field}: ${issue.message}`);
}
