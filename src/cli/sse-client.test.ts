import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from './api-client.js';
import { ApiError } from './errors.js';
import { followEvents, parseSse, type SseEvent } from './sse-client.js';

/** The parts as separate chunks, as a socket might deliver them. */
const chunks = (...parts: string[]): AsyncIterable<Uint8Array> => ({
  [Symbol.asyncIterator]: () => {
    const queue = parts.map((p) => new TextEncoder().encode(p));
    return {
      next: () =>
        Promise.resolve(
          queue.length > 0 ? { done: false, value: queue.shift()! } : { done: true, value: undefined },
        ),
    };
  },
});

async function collect(source: AsyncIterable<SseEvent>, max = Infinity): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const e of source) {
    events.push(e);
    if (events.length >= max) break;
  }
  return events;
}

describe('parseSse', () => {
  it('reads events split anywhere across chunks, with every kind of line end', async () => {
    const retries: number[] = [];
    const events = await collect(
      parseSse(
        chunks(
          'retry: 2000\n\n: ping\n\nid: 1\nev',
          'ent: task_start\ndata: {"a":',
          '1}\r',
          '\n\r\n',
          'id: 2\r',
        ),
        (ms) => retries.push(ms),
      ),
    );
    expect(retries).toEqual([2000]);
    expect(events).toEqual([{ id: '1', event: 'task_start', data: '{"a":1}' }]);
  });

  it('joins multi-line data, defaults the name to message, and keeps the last id', async () => {
    const events = await collect(parseSse(chunks('id: 7\ndata: one\ndata:two\n\ndata: three\n\n')));
    expect(events).toEqual([
      { id: '7', event: 'message', data: 'one\ntwo' },
      { id: '7', event: 'message', data: 'three' },
    ]);
  });
});

describe('followEvents', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function serve(handler: (headers: IncomingHttpHeaders, res: ServerResponse) => void) {
    server = createServer((req, res) => handler(req.headers, res));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return new ApiClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'k' });
  }

  it('reconnects after a dropped stream with Last-Event-ID and the Authorization header', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const client = await serve((headers, res) => {
      seen.push(headers);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (seen.length === 1) {
        res.write('retry: 10\n\nid: 1\ndata: a\n\nid: 2\ndata: b\n\n');
        setTimeout(() => res.destroy(), 20); // the connection drops
      } else res.write('id: 3\ndata: c\n\n');
    });
    const events = await collect(followEvents(client, '/api/events'), 3);
    expect(events.map((e) => `${e.id}:${e.data}`)).toEqual(['1:a', '2:b', '3:c']);
    expect(seen[0]!['last-event-id']).toBeUndefined();
    expect(seen[1]!['last-event-id']).toBe('2');
    expect(seen.every((h) => h.authorization === 'Bearer k')).toBe(true);
  });

  it('an error answer is thrown at once, not retried', async () => {
    let calls = 0;
    const client = await serve((_headers, res) => {
      calls++;
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'workflow "x" not found' } }));
    });
    const failure = await collect(followEvents(client, '/api/events?workflow_id=x')).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(calls).toBe(1);
  });
});
