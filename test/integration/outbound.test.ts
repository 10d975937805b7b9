/**
 * The SSRF-guarded webhook POST against real `node:http` receivers on loopback: private
 * targets refused by default in every spelling (DNS name, decimal, octal, IPv6, mapped),
 * before any connection is made; the policy's allowlist and allowPrivate letting them
 * through; redirects checked hop by hop; statuses returned, timeouts and network errors
 * thrown with their codes. Loopback is the only private range a test can reach, so the
 * others (10/8, metadata, CGNAT, ULA, link-local) are asserted to fail fast instead.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConveyorError, ValidationError } from '../../src/core/errors.js';
import {
  guardedPost,
  isBlockedAddress,
  parseAllowlist,
  type OutboundPolicy,
} from '../../src/webhooks/outbound.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  port: number;
  /** Base URL as the test addresses it (`http://127.0.0.1:<port>` or `http://localhost:<port>`). */
  url: string;
  requests: Seen[];
  /** TCP connections accepted: 0 proves a refusal happened before connecting. */
  connections: number;
  close(): Promise<void>;
}

/**
 * Routes: `/hook` → 200 `received`; `/status/<n>` → status n; `/redirect/<code>?to=<url>` →
 * that redirect; `/loop` → 302 to itself; `/big` → 5000 chars; `/hang` → never answers.
 */
async function startReceiver(host: '127.0.0.1' | 'localhost'): Promise<Receiver> {
  const requests: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const u = new URL(req.url!, 'http://x');
      const [, head, arg] = u.pathname.split('/');
      if (head === 'hook') return void res.end('received');
      if (head === 'status') {
        res.writeHead(Number(arg));
        return void res.end(`status ${arg}`);
      }
      if (head === 'redirect') {
        res.writeHead(Number(arg), { location: u.searchParams.get('to')! });
        return void res.end();
      }
      if (head === 'loop') {
        res.writeHead(302, { location: '/loop' });
        return void res.end();
      }
      if (head === 'big') return void res.end('x'.repeat(5000));
      if (head === 'hang') return;
      res.writeHead(404);
      res.end();
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  // Listening on 'localhost' binds the address localhost resolves to first, the one the
  // guard connects to, whether this machine lists ::1 or 127.0.0.1 first.
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${host}:${port}`,
    requests,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

const strict: OutboundPolicy = { allowPrivate: false, allowlist: [] };
const allowLoopback: OutboundPolicy = { allowPrivate: false, allowlist: ['127.0.0.1'] };

/** Runs `fn`, expects a ConveyorError, returns it with how long the failure took. */
async function failure(fn: () => Promise<unknown>): Promise<{ error: ConveyorError; ms: number }> {
  const started = performance.now();
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConveyorError);
    return { error: error as ConveyorError, ms: performance.now() - started };
  }
  throw new Error('expected a ConveyorError, got a result');
}

let receiver: Receiver;
let named: Receiver;
beforeAll(async () => {
  receiver = await startReceiver('127.0.0.1');
  named = await startReceiver('localhost');
});
afterAll(async () => {
  await receiver.close();
  await named.close();
});

describe('guardedPost refuses private targets by default', () => {
  const loopbackSpellings = (port: number) => [
    `http://127.0.0.1:${port}/hook`,
    `http://localhost:${port}/hook`,
    `http://2130706433:${port}/hook`,
    `http://0177.0.0.1:${port}/hook`,
    `http://[::1]:${port}/hook`,
    `http://[::ffff:127.0.0.1]:${port}/hook`,
    `http://[::ffff:7f00:1]:${port}/hook`,
    `https://127.0.0.1:${port}/hook`,
    `https://localhost:${port}/hook`,
  ];

  it('blocks loopback in every spelling before connecting', async () => {
    const [before, namedBefore] = [receiver.connections, named.connections];
    for (const url of loopbackSpellings(receiver.port)) {
      const { error } = await failure(() => guardedPost(url, '{}', {}, strict));
      expect(error.code, url).toBe('URL_BLOCKED');
      expect(error.details?.url, url).toBe(new URL(url).href);
    }
    // The DNS name is refused too, with the address it resolved to.
    const { error } = await failure(() => guardedPost(`${named.url}/hook`, '{}', {}, strict));
    expect(error.code).toBe('URL_BLOCKED');
    expect(isBlockedAddress(String(error.details?.address))).toBe(true);
    expect(receiver.connections).toBe(before);
    expect(named.connections).toBe(namedBefore);
  });

  it('blocks unreachable private ranges fast, without trying to connect', async () => {
    for (const host of ['10.0.0.1', '169.254.169.254', '100.64.0.1', '[fd00::1]', '[fe80::1]', '0.0.0.0']) {
      const { error, ms } = await failure(() =>
        guardedPost(`http://${host}/latest/meta-data`, '{}', {}, strict, { timeoutMs: 5000 }),
      );
      expect(error.code, host).toBe('URL_BLOCKED');
      expect(error.details?.address, host).toBe(host.replace(/^\[|\]$/g, ''));
      expect(ms, host).toBeLessThan(200);
    }
  });

  it('blocks schemes other than http and https, and credentials in the URL', async () => {
    const before = receiver.connections;
    for (const url of [
      'file:///etc/passwd',
      'ftp://example.com/x',
      'gopher://127.0.0.1:70/_x',
      'data:text/plain,hi',
      `http://user:secret@127.0.0.1:${receiver.port}/hook`,
      'not a url',
    ]) {
      const open: OutboundPolicy = { allowPrivate: true, allowlist: [] };
      const { error } = await failure(() => guardedPost(url, '{}', {}, open));
      expect(error.code, url).toBe('URL_BLOCKED');
    }
    expect(receiver.connections).toBe(before);
  });
});

describe('guardedPost with a policy', () => {
  const policies: [string, OutboundPolicy][] = [
    ["allowlist ['127.0.0.1']", allowLoopback],
    ["allowlist ['127.0.0.0/8']", { allowPrivate: false, allowlist: ['127.0.0.0/8'] }],
    ['allowPrivate', { allowPrivate: true, allowlist: [] }],
  ];
  it.each(policies)('%s: the receiver gets the body and headers', async (_name, policy) => {
    const before = receiver.requests.length;
    const body = JSON.stringify({ type: 'item.completed', id: 'it_1' });
    const result = await guardedPost(
      `${receiver.url}/hook?x=1`,
      body,
      { 'content-type': 'application/json', 'webhook-id': 'msg_1' },
      policy,
    );
    expect(result.status).toBe(200);
    expect(result.body).toBe('received');
    expect(result.urls).toEqual([`${receiver.url}/hook?x=1`]);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    const seen = receiver.requests.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/hook?x=1', body });
    expect(seen[0]!.headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': 'msg_1',
      'content-length': String(Buffer.byteLength(body)),
      host: `127.0.0.1:${receiver.port}`,
    });
  });

  it('an allowlisted CIDR also covers the IPv4-mapped spelling', async () => {
    const result = await guardedPost(
      `http://[::ffff:127.0.0.1]:${receiver.port}/hook`,
      '{}',
      {},
      {
        allowPrivate: false,
        allowlist: ['127.0.0.0/8'],
      },
    );
    expect(result.status).toBe(200);
  });

  it('an allowlisted hostname is allowed, and keeps its Host header', async () => {
    const before = named.requests.length;
    const result = await guardedPost(
      `${named.url}/hook`,
      'hi',
      {},
      { allowPrivate: false, allowlist: ['LOCALHOST'] },
    );
    expect(result.status).toBe(200);
    expect(named.requests[before]?.headers.host).toBe(`localhost:${named.port}`);
  });

  it('refuses a redirect from an allowed host to a private address the policy does not allow', async () => {
    const before = named.requests.length;
    const target = `http://127.0.0.1:${receiver.port}/hook`;
    const connections = receiver.connections;
    const { error } = await failure(() =>
      guardedPost(
        `${named.url}/redirect/302?to=${encodeURIComponent(target)}`,
        '{}',
        {},
        { allowPrivate: false, allowlist: ['localhost'] },
      ),
    );
    expect(error.code).toBe('URL_BLOCKED');
    expect(error.details).toEqual({ url: target, address: '127.0.0.1' });
    expect(named.requests.length).toBe(before + 1);
    expect(receiver.connections).toBe(connections);
  });

  it('follows a 307 with the same POST, body and headers', async () => {
    const before = receiver.requests.length;
    const target = `${receiver.url}/hook`;
    const first = `${receiver.url}/redirect/307?to=${encodeURIComponent(target)}`;
    const result = await guardedPost(first, '{"n":1}', { 'webhook-id': 'msg_2' }, allowLoopback);
    expect(result.status).toBe(200);
    expect(result.urls).toEqual([first, target]);
    const [, second] = receiver.requests.slice(before);
    expect(second).toMatchObject({ method: 'POST', url: '/hook', body: '{"n":1}' });
    expect(second!.headers['webhook-id']).toBe('msg_2');
  });

  it('follows a 303 as a GET without body', async () => {
    const before = receiver.requests.length;
    const result = await guardedPost(
      `${receiver.url}/redirect/303?to=/hook`,
      '{"n":1}',
      { 'content-type': 'application/json', 'webhook-id': 'msg_3' },
      allowLoopback,
    );
    expect(result.status).toBe(200);
    const [, second] = receiver.requests.slice(before);
    expect(second).toMatchObject({ method: 'GET', url: '/hook', body: '' });
    expect(second!.headers['content-type']).toBeUndefined();
    expect(second!.headers['webhook-id']).toBe('msg_3');
  });

  it('refuses too many redirects and a redirect to another scheme', async () => {
    const before = receiver.requests.length;
    const { error } = await failure(() =>
      guardedPost(`${receiver.url}/loop`, '{}', {}, allowLoopback, { maxRedirects: 2 }),
    );
    expect(error.code).toBe('URL_BLOCKED');
    expect(error.message).toMatch(/redirects/);
    expect(receiver.requests.length - before).toBe(3);

    const toFile = `${receiver.url}/redirect/302?to=${encodeURIComponent('file:///etc/passwd')}`;
    const second = await failure(() => guardedPost(toFile, '{}', {}, allowLoopback));
    expect(second.error.code).toBe('URL_BLOCKED');
    expect(second.error.details?.url).toBe('file:///etc/passwd');
  });

  it('returns a 500, and at most 2048 chars of body, rather than throwing', async () => {
    const failed = await guardedPost(`${receiver.url}/status/500`, '{}', {}, allowLoopback);
    expect(failed).toMatchObject({ status: 500, body: 'status 500' });
    const big = await guardedPost(`${receiver.url}/big`, '{}', {}, allowLoopback);
    expect(big.body).toBe('x'.repeat(2048));
  });

  it('times out a receiver that never answers', async () => {
    const { error, ms } = await failure(() =>
      guardedPost(`${receiver.url}/hang`, '{}', {}, allowLoopback, { timeoutMs: 300 }),
    );
    expect(error.code).toBe('HTTP_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(2000);
  });

  it('reports a refused connection as HTTP_FAILED', async () => {
    const gone = await startReceiver('127.0.0.1');
    await gone.close();
    const { error } = await failure(() => guardedPost(`${gone.url}/hook`, '{}', {}, allowLoopback));
    expect(error.code).toBe('HTTP_FAILED');
  });
});

describe('isBlockedAddress', () => {
  it.each([
    '0.0.0.0',
    '10.1.2.3',
    '100.64.0.1',
    '100.127.255.255',
    '127.0.0.1',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.8',
    '192.0.2.1',
    '192.168.1.1',
    '198.18.0.1',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '240.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '[::1]',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'fec0::1',
    'ff02::1',
    '2001:db8::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::127.0.0.1',
    '::127.0.0.1',
    'not-an-ip',
  ])('%s is blocked', (address) => expect(isBlockedAddress(address)).toBe(true));

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '2606:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('%s is public', (address) => expect(isBlockedAddress(address)).toBe(false));
});

describe('parseAllowlist', () => {
  it('trims and drops empties', () => {
    expect(parseAllowlist('a.example, 10.0.0.0/8 ,::1')).toEqual(['a.example', '10.0.0.0/8', '::1']);
    expect(parseAllowlist(' , fd00::/8,,')).toEqual(['fd00::/8']);
    expect(parseAllowlist(undefined)).toEqual([]);
    expect(parseAllowlist('')).toEqual([]);
  });

  it.each(['10.0.0.0/99', 'x/8', '::/129', '10.0.0.0/', '10.0.0.0/8/8', 'https://a.example'])(
    'rejects %s, naming the field',
    (csv) => {
      let thrown: unknown;
      try {
        parseAllowlist(`a.example,${csv}`);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).field).toBe('CONVEYOR_WEBHOOK_ALLOWLIST');
      expect((thrown as ValidationError).code).toBe('VALIDATION');
    },
  );
});
