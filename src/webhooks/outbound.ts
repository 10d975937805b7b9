/**
 * @module outbound
 * The one way webhook deliveries and the built-in `http` task type leave the process: an
 * HTTP(S) request that refuses to reach private, loopback, link-local and reserved
 * addresses (SSRF), unless the operator's policy allows them. A subscriber (or a task's
 * author) chooses the URL, so without this guard anyone who can register a webhook or add
 * a task can make the server call its own admin ports, the cloud metadata endpoint
 * (169.254.169.254) or the internal network, and read the answer in the delivery log or
 * the task's result.
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
  /** response body, first `maxBodyChars` chars (2048 for a webhook) */
  body: string;
  /** response headers of the last hop */
  headers: Record<string, string | string[] | undefined>;
  /** whether the body was longer than what was kept */
  truncated: boolean;
}

export interface OutboundRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
}

export interface OutboundOptions {
  /** The whole exchange, redirects included. Default 10000. */
  timeoutMs?: number;
  maxRedirects?: number;
  /** Characters of the response body kept; the rest is not read. Default 2048. */
  maxBodyChars?: number;
  /** Aborts the exchange (a cancelled task). */
  signal?: AbortSignal;
  /** Names the caller in error messages. Default 'webhook'. */
  label?: string;
}

const BODY_CHARS = 2048;

const blockedError = (url: string, reason: string, address?: string, label = 'webhook') =>
  new ConveyorError('URL_BLOCKED', `${label} URL refused: ${reason}`, {
    details: address === undefined ? { url } : { url, address },
  });

/**
 * A `lookup` for the socket: resolves every address, refuses if any one is blocked (so a
 * round-robin answer cannot slip a private address in), then hands over the first one
 * checked, so what was checked is what is connected to. Node 20 asks with `all: true`
 * (happy eyeballs), hence both callback shapes.
 */
function guardedLookup(url: string, policy: CompiledPolicy, label: string): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { all: true }, (err, found) => {
      if (err) return callback(err, '');
      const bad = found.find((a) => refused(a.address, hostname, policy));
      if (bad)
        return callback(blockedError(url, `${hostname} resolves to ${bad.address}`, bad.address, label), '');
      const first = found[0];
      if (!first)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      if (options.all) callback(null, [first]);
      else callback(null, first.address, first.family);
    });
  };
}

/** Refusals that need no network: scheme, credentials, an IP-literal host. */
function checkTarget(url: URL, policy: CompiledPolicy, label: string): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw blockedError(url.href, `scheme ${url.protocol} is not http or https`, undefined, label);
  if (url.username !== '' || url.password !== '')
    throw blockedError(url.href, 'credentials in the URL', undefined, label);
  const host = bareIp(url.hostname);
  if (net.isIP(host) !== 0 && refused(host, host, policy))
    throw blockedError(url.href, `${host} is a private or reserved address`, host, label);
}

/**
 * POSTs `body` to `url` for a webhook delivery (see guardedRequest). A non-2xx status is
 * returned, not thrown: the caller records it.
 */
export function guardedPost(
  url: string,
  body: string,
  headers: Record<string, string>,
  policy: OutboundPolicy,
  options: OutboundOptions = {},
): Promise<PostResult> {
  return guardedRequest(url, { method: 'POST', body, headers }, policy, options);
}

/**
 * One HTTP(S) exchange under the SSRF policy, following redirects (301/302/303 as a GET
 * without body, 307/308 as the same request), each hop checked again. Any status is
 * returned, not thrown. Throws `ConveyorError` URL_BLOCKED (refused target), HTTP_TIMEOUT
 * (the whole exchange over `timeoutMs`), HTTP_FAILED (network error, or `signal` aborted).
 */
export async function guardedRequest(
  url: string,
  first: OutboundRequest,
  policy: OutboundPolicy,
  options: OutboundOptions = {},
): Promise<PostResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRedirects = options.maxRedirects ?? 5;
  const label = options.label ?? 'webhook';
  const limits = { timeoutMs, maxBodyChars: options.maxBodyChars ?? BODY_CHARS, label };
  const compiled = compilePolicy(policy);
  const started = performance.now();
  const urls: string[] = [];
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline.signal, options.signal]) : deadline.signal;
  try {
    let target = parseUrl(url, url, label);
    let request: OutboundRequest = first;
    for (;;) {
      checkTarget(target, compiled, label);
      urls.push(target.href);
      const answer = await exchange(target, request, compiled, signal, deadline.signal, limits);
      const next = redirectOf(answer, target, request, label);
      if (!next) {
        const durationMs = Math.round(performance.now() - started);
        const { status, body, headers, truncated } = answer;
        return { status, durationMs, urls, body, headers, truncated };
      }
      if (urls.length > maxRedirects)
        throw blockedError(next.url.href, `more than ${maxRedirects} redirects`, undefined, label);
      target = next.url;
      request = next.request;
    }
  } finally {
    clearTimeout(timer);
  }
}

interface Answer {
  status: number;
  location: string | undefined;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  truncated: boolean;
}

interface Limits {
  timeoutMs: number;
  maxBodyChars: number;
  label: string;
}

function parseUrl(input: string, reported: string, label: string, base?: URL): URL {
  try {
    return new URL(input, base);
  } catch {
    throw blockedError(reported, 'not a valid URL', undefined, label);
  }
}

function redirectOf(
  answer: Answer,
  from: URL,
  request: OutboundRequest,
  label: string,
): { url: URL; request: OutboundRequest } | undefined {
  if (![301, 302, 303, 307, 308].includes(answer.status) || answer.location === undefined) return undefined;
  const url = parseUrl(answer.location, answer.location, label, from);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw blockedError(url.href, `redirect to scheme ${url.protocol}`, undefined, label);
  if (answer.status === 307 || answer.status === 308) return { url, request };
  // A body-less GET must not announce the body it no longer has.
  const headers = Object.fromEntries(
    Object.entries(request.headers).filter(([k]) => !/^content-(type|length)$/i.test(k)),
  );
  const method = request.method === 'HEAD' ? 'HEAD' : 'GET';
  return { url, request: { method, headers } };
}

/** One request/response on its own socket; the body is read up to `maxBodyChars`, then dropped. */
function exchange(
  url: URL,
  hop: OutboundRequest,
  policy: CompiledPolicy,
  signal: AbortSignal,
  deadline: AbortSignal,
  limits: Limits,
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    let settled = false;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      reject(toConveyorError(e, hop.method, url.href, deadline.aborted, limits));
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
      lookup: guardedLookup(url.href, policy, limits.label),
      ...(url.protocol === 'https:' && net.isIP(host) === 0 ? { servername: host } : {}),
    });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.on('response', (res) => {
      let text = '';
      let truncated = false;
      const done = () => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        res.destroy();
        const location = res.headers.location;
        const body = text.slice(0, limits.maxBodyChars);
        resolve({ status: res.statusCode ?? 0, location, body, headers: res.headers, truncated });
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.length > limits.maxBodyChars) {
          truncated = true;
          done();
        }
      });
      res.on('end', done);
      res.on('error', fail);
    });
    req.end(hop.body);
  });
}

function toConveyorError(
  e: unknown,
  method: string,
  url: string,
  timedOut: boolean,
  limits: Limits,
): ConveyorError {
  // The lookup's refusal reaches us as the request's 'error' event, the same object.
  if (e instanceof ConveyorError) return e;
  const what = `${limits.label} ${method} to ${url}`;
  if (timedOut)
    return new ConveyorError('HTTP_TIMEOUT', `${what} took over ${limits.timeoutMs} ms`, {
      cause: e,
      details: { url },
    });
  const message = e instanceof Error ? e.message : String(e);
  return new ConveyorError('HTTP_FAILED', `${what} failed: ${message}`, { cause: e, details: { url } });
}
