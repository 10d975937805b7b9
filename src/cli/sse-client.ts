/**
 * @module cli/sse-client
 * Server-Sent Events over `fetch`, for `run --watch` and `task add --wait`: a parser of the
 * WHATWG event-stream format, and a follower that reconnects after a dropped connection
 * with `Last-Event-ID`, so the server resumes right after the last event we got (the
 * stream is read from the persisted log: nothing missed, nothing twice). Node's fetch has
 * no EventSource, and EventSource could not send the Authorization header anyway.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorFrom, type ApiClient } from './api-client.js';
import { UnreachableError } from './errors.js';

export interface SseEvent {
  /** The last `id:` seen so far (ids persist across events, as in the spec). */
  id: string | null;
  event: string;
  data: string;
}

const LINE_END = /\r\n|\n|\r/;

/**
 * The events of an event stream. `onRetry` gets the server's `retry:` advice (ms); comments
 * (`: ping`) and events without data are dropped, as EventSource drops them.
 */
export async function* parseSse(
  body: AsyncIterable<Uint8Array>,
  onRetry: (ms: number) => void = () => {},
  lastId: string | null = null,
): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let event = '';
  let id = lastId;
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let m = LINE_END.exec(buffer); m !== null; m = LINE_END.exec(buffer)) {
      // A lone \r at the end may be the first half of a \r\n split across chunks.
      if (m[0] === '\r' && m.index === buffer.length - 1) break;
      const line = buffer.slice(0, m.index);
      buffer = buffer.slice(m.index + m[0].length);
      if (line === '') {
        if (data.length > 0) yield { id, event: event || 'message', data: data.join('\n') };
        data = [];
        event = '';
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id' && !value.includes('\0')) id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) onRetry(Number(value));
    }
  }
}

export interface FollowOptions {
  /** Reconnections in a row without an event before giving up. Default 5. */
  maxFailures?: number;
  /** Wait before reconnecting until the server advises otherwise. Default 1000 ms. */
  retryMs?: number;
}

/**
 * Every event of the stream at `path`, across reconnects, until the caller stops reading
 * (which closes the connection). An error answer (401, 404) is thrown at once: trying again
 * would get the same.
 */
export async function* followEvents(
  client: ApiClient,
  path: string,
  options: FollowOptions = {},
): AsyncGenerator<SseEvent> {
  const maxFailures = options.maxFailures ?? 5;
  let retryMs = options.retryMs ?? 1000;
  let lastId: string | null = null;
  let failures = 0;
  for (;;) {
    const controller = new AbortController();
    let lost: UnreachableError;
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastId !== null) headers['last-event-id'] = lastId;
      const res = await client.fetch(path, { headers, signal: controller.signal });
      if (!res.ok) throw await errorFrom(res);
      if (res.body === null) throw new UnreachableError(`${client.base}${path} sent no event stream`);
      for await (const event of parseSse(res.body, (ms) => (retryMs = ms), lastId)) {
        failures = 0;
        lastId = event.id;
        yield event;
      }
      lost = new UnreachableError(`the event stream of ${client.base} kept ending`);
    } catch (e) {
      // Only a dropped connection is retried; an answer that says no is final.
      if (e instanceof UnreachableError) lost = e;
      else if (isStreamBreak(e)) lost = broken(client, e);
      else throw e;
    } finally {
      controller.abort();
    }
    if (++failures >= maxFailures) throw lost;
    await sleep(retryMs);
  }
}

/** A body that stopped half way (the server went away): undici's "terminated" and kin. */
function isStreamBreak(e: unknown): boolean {
  return e instanceof TypeError || (e instanceof Error && /terminated|socket|ECONNRESET/i.test(e.message));
}

const broken = (client: ApiClient, e: unknown) =>
  new UnreachableError(
    `lost the event stream of ${client.base} (${e instanceof Error ? e.message : String(e)})`,
  );
