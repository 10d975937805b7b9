/**
 * The HTTP API under test: a real server (`startServer`) on a random loopback port over a
 * Conveyor of the test's backend, and a small client for it (Node's fetch, no mocks). The
 * environment is not read (`env: {}`), so a developer's CONVEYOR_* settings cannot change
 * what a test sees.
 */
import type { Conveyor } from '../../src/index.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server.js';
import { openTestConveyor } from './conveyors.js';

export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface TestApi {
  readonly url: string;
  readonly server: RunningServer;
  readonly cv: Conveyor;
  /** JSON request; `body` is sent as JSON unless `raw` is given (then sent as it is). */
  request<T = any>(
    method: string,
    path: string,
    options?: { body?: unknown; raw?: string | Buffer; key?: string; headers?: Record<string, string> },
  ): Promise<Answer<T>>;
  close(): Promise<void>;
}

export async function startTestApi(
  options: Omit<ServerOptions, 'conveyor'> & { conveyor?: Conveyor } = {},
): Promise<TestApi> {
  const cv = options.conveyor ?? (await openTestConveyor());
  const server = await startServer({
    env: {},
    workers: 4,
    announce: () => {},
    ...options,
    conveyor: cv,
    config: { port: 0, ...options.config },
  });
  const ownConveyor = options.conveyor === undefined;
  return {
    url: server.url,
    server,
    cv,
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      let body: string | Buffer | undefined;
      if (o.raw !== undefined) body = o.raw;
      else if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
      if (o.key !== undefined) headers.authorization = `Bearer ${o.key}`;
      const res = await fetch(server.url + path, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        // not JSON (metrics, docs): the text is the body
      }
      return { status: res.status, headers: res.headers, body: parsed as never, text };
    },
    async close() {
      await server.close();
      if (ownConveyor) await cv.close();
    },
  };
}

/** Reads Server-Sent Events from `url` until `until(events)` is true or `timeoutMs` passes. */
export async function readSse(
  url: string,
  until: (events: SseEvent[]) => boolean,
  options: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ status: number; events: SseEvent[]; comments: number }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 10_000);
  const events: SseEvent[] = [];
  let comments = 0;
  try {
    const res = await fetch(url, { headers: options.headers ?? {}, signal: controller.signal });
    if (res.status !== 200 || !res.body) return { status: res.status, events, comments };
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const e: Partial<SseEvent> = {};
        for (const line of frame.split('\n')) {
          if (line.startsWith(':')) comments++;
          else if (line.startsWith('id: ')) e.id = Number(line.slice(4));
          else if (line.startsWith('event: ')) e.event = line.slice(7);
          else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6));
        }
        if (e.event !== undefined) events.push(e as SseEvent);
      }
      if (until(events)) break;
    }
    return { status: res.status, events, comments };
  } catch (e) {
    if (controller.signal.aborted) return { status: 200, events, comments };
    throw e;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, any>;
}
