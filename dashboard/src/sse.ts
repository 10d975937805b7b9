/**
 * @module sse
 * Server-Sent Events from `GET /api/events`, read with fetch instead of EventSource:
 * EventSource cannot send the Authorization header an API key needs. Frames are parsed
 * here (`id:`, `event:`, `data:`, `retry:`), and a dropped stream is reopened with
 * `Last-Event-ID` so the server resumes right after the last event seen (src/api/http/sse.ts).
 */
import { authHeaders, reportUnauthorized } from './api.js';

/** A frame's data (src/api/http/sse.ts `frameData`). */
export interface EventData {
  seq: number;
  type: string;
  at: string;
  task_id: string | null;
  workflow_id: string | null;
  step_id?: string;
  map_index?: number;
  status: string | null;
  progress?: number;
  message?: string;
}

export interface StreamEvent {
  id: string | null;
  event: string;
  data: EventData;
}

const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', stop, { once: true });
  });

/** Feeds `onLine` every line of an event-stream body as it arrives. */
async function readLines(body: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    // The last piece may be half a line, and a final \r half of a \r\n: keep them for the next chunk.
    const cut = buffer.endsWith('\r') ? buffer.length - 1 : buffer.length;
    const lines = buffer.slice(0, cut).split(/\r\n|\r|\n/);
    buffer = (lines.pop() ?? '') + buffer.slice(cut);
    for (const line of lines) onLine(line);
  }
}

/**
 * Follows `path` (e.g. `api/events?workflow_id=…`) until the returned function is called,
 * calling `onEvent` for every event, in order, once each, across reconnections.
 */
export function followEvents(path: string, onEvent: (e: StreamEvent) => void): () => void {
  const controller = new AbortController();
  const { signal } = controller;
  let lastId: string | null = null;
  let retryMs = 2000;

  const frame = { id: null as string | null, event: 'message', data: [] as string[] };
  const onLine = (line: string) => {
    if (line === '') {
      if (frame.data.length > 0) {
        if (frame.id !== null) lastId = frame.id;
        try {
          onEvent({ id: frame.id, event: frame.event, data: JSON.parse(frame.data.join('\n')) as EventData });
        } catch (e) {
          console.warn('conveyor: unreadable event', e);
        }
      }
      frame.id = null;
      frame.event = 'message';
      frame.data = [];
      return;
    }
    if (line.startsWith(':')) return; // a comment: the server's keep-alive ping
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') frame.id = value;
    else if (field === 'event') frame.event = value;
    else if (field === 'data') frame.data.push(value);
    else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
  };

  const run = async () => {
    while (!signal.aborted) {
      try {
        const headers: Record<string, string> = { ...authHeaders(), accept: 'text/event-stream' };
        if (lastId !== null) headers['last-event-id'] = lastId;
        const res = await fetch(path, { headers, signal, cache: 'no-store' });
        if (res.status === 401) return reportUnauthorized();
        // Another 4xx (an id that does not exist) will not get better by asking again.
        if (res.status >= 400 && res.status < 500) return;
        if (res.ok && res.body) await readLines(res.body, onLine);
      } catch {
        // A dropped connection or a server restart: reconnect below.
      }
      frame.data = [];
      await wait(retryMs, signal);
    }
  };
  void run();
  return () => controller.abort();
}
