/**
 * @module host-guard
 * DNS-rebinding and cross-site protection for the API, the dashboard and POST /mcp. A web
 * page on evil.example whose name is re-pointed at 127.0.0.1 can make the visitor's
 * browser send requests to a local keyless server with `Host: evil.example`; a page
 * elsewhere can send a form POST with its own `Origin`. So:
 * - without API keys (loopback only) the `Host` must be a loopback name or one of
 *   CONVEYOR_ALLOWED_HOSTS; with keys it is checked only when that list is set (a key
 *   is something a rebinding page does not have);
 * - an `Origin`, when a browser sends one, must name the host the request was sent to,
 *   or a loopback or allowed host: the dashboard is same-origin, other sites are not.
 * Refusals are FORBIDDEN_HOST (403).
 */
import type { FastifyRequest } from 'fastify';
import { ConveyorError } from '../../core/errors.js';

const LOOPBACK_NAME = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|::1)$/i;

export interface HostPolicy {
  keyless: boolean;
  /** Lower-case host names without ports. */
  allowedHosts: readonly string[];
}

/** `host:port` or `[v6]:port` → lower-case host name without the port. */
function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

const forbidden = (message: string) => new ConveyorError('FORBIDDEN_HOST', message);

export function checkHost(request: FastifyRequest, policy: HostPolicy): void {
  const allowed = (name: string) => LOOPBACK_NAME.test(name) || policy.allowedHosts.includes(name);
  const hostHeader = request.headers.host ?? '';
  const host = hostName(hostHeader);
  if ((policy.keyless || policy.allowedHosts.length > 0) && !allowed(host))
    throw forbidden(
      `Host ${JSON.stringify(hostHeader)} is not one this server answers to (set CONVEYOR_ALLOWED_HOSTS)`,
    );
  const origin = request.headers.origin;
  // `Origin: null` (a sandboxed frame, a file: page) is refused too: it is what an attack
  // page would hide behind.
  if (origin === undefined) return;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw forbidden(`Origin ${JSON.stringify(origin)} is not a URL`);
  }
  if (url.host.toLowerCase() === hostHeader.trim().toLowerCase()) return;
  if (allowed(url.hostname.toLowerCase())) return;
  throw forbidden(`requests from the web page at ${url.origin} are not allowed`);
}
