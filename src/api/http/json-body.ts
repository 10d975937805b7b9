/**
 * @module json-body
 * The JSON body parser: Fastify's own (secure-json-parse: a `__proto__` or `constructor`
 * key is an error, not a prototype change) behind a check of the raw text. The check
 * counts brackets in one pass without recursion, so a body of a million `[` is refused in
 * linear time before anything builds a million nested arrays.
 */
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../core/errors.js';

const hex4 = (text: string, at: number): number =>
  /^[0-9a-fA-F]{4}$/.test(text.slice(at, at + 4)) ? parseInt(text.slice(at, at + 4), 16) : -1;

/**
 * One pass over the raw text: `depth` when brackets nest deeper than `max`, `surrogate`
 * when a string escapes half of a UTF-16 surrogate pair (`"\ud800"`). Such a string is
 * not Unicode text: SQLite would store it as U+FFFD and the task would come back other
 * than it was sent, so it is refused instead.
 */
export function jsonTextProblem(text: string, max: number): 'depth' | 'surrogate' | null {
  let depth = 0;
  let inString = false;
  let pendingHigh = false; // the previous escape was a high surrogate
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) {
        if (text.charCodeAt(i + 1) === 0x75) {
          const code = hex4(text, i + 2);
          const high = code >= 0xd800 && code <= 0xdbff;
          const low = code >= 0xdc00 && code <= 0xdfff;
          if (pendingHigh !== low) return 'surrogate';
          pendingHigh = high;
          i += 5;
          continue;
        }
        i++; // another escape: skip the escaped character
      } else if (ch === 0x22) inString = false;
      if (pendingHigh) return 'surrogate';
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > max) return 'depth';
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return null;
}

export function registerJsonParser(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    const problem = jsonTextProblem(text, maxDepth);
    if (problem !== null) {
      const message =
        problem === 'depth'
          ? `is nested deeper than ${maxDepth} levels`
          : 'holds a lone UTF-16 surrogate (\\uD800–\\uDFFF without its pair): not Unicode text';
      done(new ValidationError([{ field: 'body', message }]), undefined);
      return;
    }
    void parse(request, text, done);
  });
}
