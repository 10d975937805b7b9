/**
 * @module auth
 * API keys and tenants (CONTRACT §6). Keys are kept only as SHA-256 hashes: the key file
 * may hold hashes alone, and a memory dump or a log never shows a usable key. With keys
 * configured every request needs `Authorization: Bearer <key>` (401 otherwise) and acts
 * as the key's tenant; without keys every request is the default tenant's, and the server
 * listens on loopback only (see server.ts).
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ConveyorError } from '../../core/errors.js';

/** SHA-256 hex of a key → its tenant. */
export type ApiKeys = Map<string, string>;

export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant the request acts as. */
    tenant: string;
    /** Hash of the key it came with, for the per-key rate limit; null without keys. */
    keyHash: string | null;
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export class UnauthorizedError extends ConveyorError {
  constructor(message: string) {
    super('UNAUTHORIZED', message);
    this.name = 'UnauthorizedError';
  }
}

/** Sets `request.tenant` from its key; throws UNAUTHORIZED when keys are configured and it has none that fits. */
export function authenticate(request: FastifyRequest, keys: ApiKeys, defaultTenant: string): void {
  if (keys.size === 0) {
    request.tenant = defaultTenant;
    request.keyHash = null;
    return;
  }
  const header = request.headers.authorization;
  const key = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
  if (key === undefined) throw new UnauthorizedError('an API key is required: Authorization: Bearer <key>');
  const hash = hashApiKey(key);
  const tenant = keys.get(hash);
  if (tenant === undefined) throw new UnauthorizedError('unknown API key');
  request.tenant = tenant;
  request.keyHash = hash;
}
