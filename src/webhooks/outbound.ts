/**
 * @module outbound
 * The one way webhook deliveries leave the process: an HTTP(S) POST that refuses to reach
 * private, loopback, link-local and reserved addresses (SSRF), unless the operator's
 * policy allows them. A subscriber chooses the URL, so without this guard anyone who can
 * register a webhook can make the server call its own admin ports, the cloud metadata
 * endpoint (169.254.169.254) or the internal network, and read the answer in the delivery
 * log.
 *
 * The check runs on the address actually connected to, inside the socket's `lookup`, not
 * on the hostname string: a name that resolves to 10.0.0.1, or one whose DNS answer
 * changes between a check and the connect (rebinding), is caught at connect time. Node
 * skips `lookup` for IP-literal hosts, so those are checked before the request. Every
 * redirect hop goes through the same checks.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { ConveyorError } from '../core/errors.js';
import {
  bareIp,
  compilePolicy,
  refused,
  type CompiledPolicy,
  type OutboundPolicy,
} from './address-policy.js';

export { isBlockedAddress, parseAllowlist, type OutboundPolicy } from './address-policy.js';

export interface PostResult {
  status: number;
  durationMs: number;
  /** every URL requested, the first included */
  urls: string[];
  /** response body, first 2048 chars */
  body: string;
}

const BODY_CHARS = 2048;

const blockedError = (url: string, reason: string, address?: string) =>
  new ConveyorError('URL_BLOCKED', `webhook URL refused: ${reason}`, {
    details: address === undefined ? { url } : { url, address },
  });

/**
 * A `lookup` for the socket: resolves every address, refuses if any one is blocked (so a
 * round-robin answer cannot slip a private address in), then hands over the first one
 * checked, so what was checked is what is connected to. Node 20 asks with `all: true`
 * (happy eyeballs), hence both callback shapes.
 */
function guardedLookup(url: string, policy: CompiledPolicy): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { all: true }, (err, found) => {
      if (err) return callback(err, '');
      const bad = found.find((a) => refused(a.address, hostname, policy));
      if (bad) return callback(blockedError(url, `${hostname} resolves to ${bad.address}`, bad.address), '');
      const first = found[0];
      if (!first)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      if (options.all) callback(null, [first]);
      else callback(null, first.address, first.family);
    });
  };
}

/** Refusals that need no network: scheme, credentials, an IP-literal host. */
function checkTarget(url: URL, policy: CompiledPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw blockedError(url.href, `scheme ${url.protocol} is not http or https`);
  if (url.username !== '' || url.password !== '') throw blockedError(url.href, 'credentials in the URL');
  const host = bareIp(url.hostname);
  if (net.isIP(host) !== 0 && refused(host, host, policy))
    throw blockedError(url.href, `${host} is a private or reserved address`, host);
}

/**
 * POSTs `body` to `url` for a webhook delivery, following redirects (301/302/303 as a GET
 * without body, 307/308 as the same POST), each hop checked again. A non-2xx status is
 * returned, not thrown: the caller records it. Throws `ConveyorError` URL_BLOCKED (refused
 * target), HTTP_TIMEOUT (the whole exchange, redirects included, over `timeoutMs`,
 * default 10000) or HTTP_FAILED (network error).
 */
export async function guardedPost(
  url: string,
  body: string,
  headers: Record<string, string>,
  policy: OutboundPolicy,
  options: { timeoutMs?: number; maxRedirects?: number } = {},
): Promise<PostResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRedirects = options.maxRedirects ?? 5;
  const compiled = compilePolicy(policy);
  const started = performance.now();
  const urls: string[] = [];
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  try {
    let target = parseUrl(url, url);
    let request: Hop = { method: 'POST', body, headers };
    for (;;) {
      checkTarget(target, compiled);
      urls.push(target.href);
      const answer = await exchange(target, request, compiled, deadline.signal, timeoutMs);
      const next = redirectOf(answer, target, request);
      if (!next) {
        const durationMs = Math.round(performance.now() - started);
        return { status: answer.status, durationMs, urls, body: answer.body };
      }
      if (urls.length > maxRedirects)
        throw blockedError(next.url.href, `more than ${maxRedirects} redirects`);
      target = next.url;
      request = next.request;
    }
  } finally {
    clearTimeout(timer);
  }
}

interface Hop {
  method: 'POST' | 'GET';
  body: string | undefined;
  headers: Record<string, string>;
}

interface Answer {
  status: number;
  location: string | undefined;
  body: string;
}

function parseUrl(input: string, reported: string, base?: URL): URL {
  try {
    return new URL(input, base);
  } catch {
    throw blockedError(reported, 'not a valid URL');
  }
}

function redirectOf(answer: Answer, from: URL, request: Hop): { url: URL; request: Hop } | undefined {
  if (![301, 302, 303, 307, 308].includes(answer.status) || answer.location === undefined) return undefined;
  const url = parseUrl(answer.location, answer.location, from);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw blockedError(url.href, `redirect to scheme ${url.protocol}`);
  if (answer.status === 307 || answer.status === 308) return { url, request };
  // A body-less GET must not announce the body it no longer has.
  const headers = Object.fromEntries(
    Object.entries(request.headers).filter(([k]) => !/^content-(type|length)$/i.test(k)),
  );
  return { url, request: { method: 'GET', body: undefined, headers } };
}

/** One request/response on its own socket; the body is read up to BODY_CHARS, then dropped. */
function exchange(
  url: URL,
  hop: Hop,
  policy: CompiledPolicy,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    let settled = false;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      reject(toConveyorError(e, url.href, signal.aborted, timeoutMs));
    };
    const onAbort = () => fail(new Error('aborted'));
    const host = bareIp(url.hostname);
    const headers = Object.fromEntries(
      Object.entries(hop.headers).filter(([k]) => !/^content-length$/i.test(k)),
    );
    if (hop.body !== undefined) headers['content-length'] = String(Buffer.byteLength(hop.body));
    const req = (url.protocol === 'https:' ? https : http).request({
      method: hop.method,
      hostname: host,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      headers,
      // No shared agent: a pooled socket opened by unguarded code to the same host:port
      // would be reused without our lookup ever running.
      agent: false,
      lookup: guardedLookup(url.href, policy),
      ...(url.protocol === 'https:' && net.isIP(host) === 0 ? { servername: host } : {}),
    });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.on('response', (res) => {
      let text = '';
      const done = () => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        res.destroy();
        const location = res.headers.location;
        resolve({ status: res.statusCode ?? 0, location, body: text.slice(0, BODY_CHARS) });
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.length >= BODY_CHARS) done();
      });
      res.on('end', done);
      res.on('error', fail);
    });
    req.end(hop.body);
  });
}

function toConveyorError(e: unknown, url: string, timedOut: boolean, timeoutMs: number): ConveyorError {
  // The lookup's refusal reaches us as the request's 'error' event, the same object.
  if (e instanceof ConveyorError) return e;
  if (timedOut)
    return new ConveyorError('HTTP_TIMEOUT', `webhook POST to ${url} took over ${timeoutMs} ms`, {
      cause: e,
      details: { url },
    });
  const message = e instanceof Error ? e.message : String(e);
  return new ConveyorError('HTTP_FAILED', `webhook POST to ${url} failed: ${message}`, {
    cause: e,
    details: { url },
  });
}
