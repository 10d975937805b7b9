/**
 * @module config
 * The HTTP service's settings (CONTRACT §8 environment), validated once at start: a typo
 * in a key list or an allow-list fails the start with the variable's name instead of
 * running with less protection than the operator meant.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { nameSchema, parseInput } from '../../engine/validation.js';
import { parseAllowlist } from '../../webhooks/address-policy.js';
import { checkWebhookSecret } from '../../webhooks/secrets.js';
import { hashApiKey, type ApiKeys } from './auth.js';

export interface ServerConfig {
  host: string;
  port: number;
  /** Largest request body in bytes, refused with 413 before it is parsed. Default 1 MiB. */
  bodyLimit: number;
  /** Deepest nesting of a JSON body. Default 64. */
  maxJsonDepth: number;
  /** Most steps (tasks) one workflow may hold. Default 10,000. */
  maxWorkflowSteps: number;
  /** API keys by SHA-256 hash → tenant; empty: no keys (loopback only, one tenant). */
  apiKeys: ApiKeys;
  /** Requests per key (or client address without keys) per window. */
  rateLimit: { max: number; windowMs: number };
  /** Seconds between SSE heartbeat comments on an idle stream. Default 15. */
  sseHeartbeatSeconds: number;
  /** Milliseconds between queue-depth samples (GET /api/stats/queue); 0 samples none. Default 5000. */
  statsIntervalMs: number;
  /** Serve the dashboard at `/` (when it is built). Default true. */
  dashboard: boolean;
  /**
   * Host names (besides loopback names and the listening host) that a browser may reach
   * POST /mcp by; a request with another Host or Origin is refused (DNS rebinding).
   */
  allowedHosts: string[];
  /** Register the built-in `shell` task type in the in-process workers. Default false. */
  shell: boolean;
  webhooks: {
    /** Also the outbound policy of the built-in `http` task type. */
    allowPrivate: boolean;
    allowlist: string[];
    /** Signing secrets by tenant (`*`: every tenant without its own). */
    secrets: Record<string, string>;
    retry?: { maxRetries?: number; baseMs?: number; maxMs?: number };
  };
}

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 3000,
  bodyLimit: 1024 * 1024,
  maxJsonDepth: 64,
  maxWorkflowSteps: 10_000,
  apiKeys: new Map(),
  rateLimit: { max: 1000, windowMs: 60_000 },
  sseHeartbeatSeconds: 15,
  statsIntervalMs: 5000,
  dashboard: true,
  allowedHosts: [],
  shell: false,
  webhooks: { allowPrivate: false, allowlist: [], secrets: {} },
};

const keyFileSchema = z.strictObject({
  keys: z
    .array(
      z.union([
        z.strictObject({ key: z.string().min(16).max(500), tenant: nameSchema }),
        z.strictObject({
          sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
          tenant: nameSchema,
        }),
      ]),
    )
    .min(1),
  webhook_secrets: z.record(nameSchema, z.string()).optional(),
});

const intIn = (env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined => {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ValidationError([{ field: name, message: `must be a whole number from ${min} to ${max}` }]);
  return n;
};

const boolIn = (env: NodeJS.ProcessEnv, name: string): boolean | undefined => {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw !== 'true' && raw !== 'false')
    throw new ValidationError([{ field: name, message: 'must be true or false' }]);
  return raw === 'true';
};

/** `key:tenant,key:tenant` → hashes; keys shorter than 16 characters are refused. */
export function parseApiKeys(csv: string, field = 'CONVEYOR_API_KEYS'): ApiKeys {
  const keys: ApiKeys = new Map();
  for (const entry of csv.split(',').map((s) => s.trim())) {
    if (entry === '') continue;
    const at = entry.lastIndexOf(':');
    const key = at > 0 ? entry.slice(0, at) : '';
    const tenant = at > 0 ? entry.slice(at + 1) : '';
    if (key.length < 16)
      throw new ValidationError([
        { field, message: 'each entry is key:tenant, with a key of at least 16 characters' },
      ]);
    if (!nameSchema.safeParse(tenant).success)
      throw new ValidationError([{ field, message: `tenant ${JSON.stringify(tenant)} is not a valid name` }]);
    keys.set(hashApiKey(key), tenant);
  }
  return keys;
}

/** Reads the service's settings from the environment (CONTRACT §8), over `base`. */
export function configFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  base: ServerConfig = DEFAULT_CONFIG,
): ServerConfig {
  const apiKeys: ApiKeys = new Map(base.apiKeys);
  const secrets: Record<string, string> = { ...base.webhooks.secrets };
  if (env.CONVEYOR_API_KEYS) for (const [h, t] of parseApiKeys(env.CONVEYOR_API_KEYS)) apiKeys.set(h, t);
  if (env.CONVEYOR_API_KEY_FILE) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(env.CONVEYOR_API_KEY_FILE, 'utf8'));
    } catch (e) {
      throw new ValidationError([
        { field: 'CONVEYOR_API_KEY_FILE', message: `cannot read it as JSON: ${(e as Error).message}` },
      ]);
    }
    const file = parseInput(keyFileSchema, parsed, 'CONVEYOR_API_KEY_FILE');
    for (const k of file.keys) apiKeys.set('sha256' in k ? k.sha256 : hashApiKey(k.key), k.tenant);
    for (const [tenant, secret] of Object.entries(file.webhook_secrets ?? {}))
      secrets[tenant] = checkWebhookSecret(secret, `CONVEYOR_API_KEY_FILE.webhook_secrets.${tenant}`);
  }
  if (env.CONVEYOR_WEBHOOK_SECRET)
    secrets['*'] = checkWebhookSecret(env.CONVEYOR_WEBHOOK_SECRET, 'CONVEYOR_WEBHOOK_SECRET');
  const allowPrivate = boolIn(env, 'CONVEYOR_WEBHOOK_ALLOW_PRIVATE');
  const hosts = env.CONVEYOR_ALLOWED_HOSTS;
  return {
    ...base,
    host: env.CONVEYOR_HOST || base.host,
    port: intIn(env, 'CONVEYOR_PORT', 0, 65535) ?? base.port,
    bodyLimit: intIn(env, 'CONVEYOR_BODY_LIMIT', 1024, 64 * 1024 * 1024) ?? base.bodyLimit,
    apiKeys,
    rateLimit: {
      max: intIn(env, 'CONVEYOR_RATE_LIMIT', 1, 10_000_000) ?? base.rateLimit.max,
      windowMs: intIn(env, 'CONVEYOR_RATE_LIMIT_WINDOW_MS', 100, 86_400_000) ?? base.rateLimit.windowMs,
    },
    statsIntervalMs: intIn(env, 'CONVEYOR_STATS_INTERVAL_MS', 0, 3_600_000) ?? base.statsIntervalMs,
    dashboard: boolIn(env, 'CONVEYOR_DASHBOARD') ?? base.dashboard,
    allowedHosts: hosts ? parseHostList(hosts) : base.allowedHosts,
    shell: boolIn(env, 'CONVEYOR_SHELL') ?? base.shell,
    webhooks: {
      ...base.webhooks,
      allowPrivate: allowPrivate ?? base.webhooks.allowPrivate,
      allowlist: env.CONVEYOR_WEBHOOK_ALLOWLIST
        ? parseAllowlist(env.CONVEYOR_WEBHOOK_ALLOWLIST)
        : base.webhooks.allowlist,
      secrets,
    },
  };
}

/** CONVEYOR_ALLOWED_HOSTS: `name,name` (host names, no ports, no schemes). */
function parseHostList(csv: string): string[] {
  const names = csv
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  for (const name of names)
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)$/.test(name))
      throw new ValidationError([
        { field: 'CONVEYOR_ALLOWED_HOSTS', message: `${JSON.stringify(name)} is not a host name` },
      ]);
  return names;
}

/** What `cv.deliverWebhooks` needs of the settings: the outbound policy, secrets and retry. */
export function webhookDeliveryOptions(config: ServerConfig) {
  return {
    allowPrivate: config.webhooks.allowPrivate,
    allowlist: config.webhooks.allowlist,
    secrets: config.webhooks.secrets,
    ...(config.webhooks.retry ? { retry: config.webhooks.retry } : {}),
  };
}
