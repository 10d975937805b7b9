/**
 * @module secrets
 * Each tenant's webhook signing secret, in the Standard Webhooks format (`whsec_` + base64
 * of 24 random bytes). A tenant gets one the first time it is needed: the configured
 * secret when there is one (`CONVEYOR_WEBHOOK_SECRET`, or a tenant's own in the key file),
 * else a generated one. It is stored, so every process and every restart signs with the
 * same secret; a concurrent first use by two processes keeps whichever was stored first.
 */
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../core/errors.js';
import type { Engine } from '../engine/engine.js';

const SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Throws VALIDATION naming `field` unless `secret` is a `whsec_` secret of at least 16 bytes. */
export function checkWebhookSecret(secret: string, field: string): string {
  const bytes = SECRET.test(secret) ? Buffer.from(secret.slice(6), 'base64').length : 0;
  if (bytes < 16)
    throw new ValidationError([{ field, message: 'must be whsec_ followed by base64 of at least 16 bytes' }]);
  return secret;
}

export class WebhookSecrets {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly engine: Engine,
    /** Secrets given in configuration, by tenant; `*` applies to every other tenant. */
    private readonly configured: ReadonlyMap<string, string> = new Map(),
  ) {}

  async forTenant(tenant: string): Promise<string> {
    const known = this.cache.get(tenant);
    if (known) return known;
    let secret = await this.engine.store.tenantSecret(tenant);
    if (secret === undefined) {
      const candidate = this.configured.get(tenant) ?? this.configured.get('*') ?? generateWebhookSecret();
      secret = await this.engine.write(async (c) => {
        await c.tx.insertTenantSecret(tenant, candidate, c.now);
        return (await c.tx.tenantSecret(tenant)) ?? candidate;
      });
    }
    this.cache.set(tenant, secret);
    return secret;
  }
}
