/**
 * A real `node:http` server on a random loopback port, for the HTTP client's tests: routes
 * that answer JSON, text, a status of the test's choosing, slowly, or fail a few times
 * first, and a record of every request it received.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface TestHttpServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Requests whose client went away before the answer was sent (aborted). */
  readonly abandoned: SeenRequest[];
  /** How many requests reached `path` (without its query). */
  hits(path: string): number;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, value: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(value));
};

/**
 * Routes (any method): `/json` → `{ hello: 'world' }`; `/text` → text/plain; `/echo` → the
 * request as JSON; `/status/<n>` → status n with `{ error }`; `/slow/<ms>` → JSON after ms;
 * `/flaky/<n>/<name>` → 503 for the first n requests to that path, then `{ ok: true }`;
 * `/bad-json` → JSON content-type with a body that is not JSON. A `/api` prefix is ignored.
 */
export async function startHttpServer(): Promise<TestHttpServer> {
  const requests: SeenRequest[] = [];
  const abandoned: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(seen);
      res.on('close', () => {
        if (!res.writableFinished) abandoned.push(seen);
      });
      route(seen, res, requests);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    abandoned,
    hits: (path) => requests.filter((r) => pathOf(r.url) === path).length,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Keep-alive sockets from fetch would hold close() open until they time out.
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

const pathOf = (url: string) => url.split('?')[0]!.replace(/^\/api(?=\/)/, '');

function route(req: SeenRequest, res: ServerResponse, all: SeenRequest[]): void {
  const path = pathOf(req.url);
  const [, head, a, b] = path.split('/');
  if (head === 'json') return json(res, 200, { hello: 'world' });
  if (head === 'text') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return void res.end('plain text');
  }
  if (head === 'echo') {
    return json(res, 200, { method: req.method, url: req.url, headers: req.headers, body: req.body });
  }
  if (head === 'status') return json(res, Number(a), { error: `status ${a}` });
  if (head === 'slow') {
    const timer = setTimeout(() => json(res, 200, { slow: true }), Number(a));
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (head === 'flaky') {
    const seen = all.filter((r) => pathOf(r.url) === path).length;
    if (seen <= Number(a)) return json(res, 503, { error: 'try again', name: b });
    return json(res, 200, { ok: true });
  }
  if (head === 'bad-json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end('{not json');
  }
  json(res, 404, { error: 'no such route' });
}
