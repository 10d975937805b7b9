/**
 * The rule for tests that need a local service (PostgreSQL, Redis): in CI, where .ci/run
 * starts the services, they always run, and an unreachable service fails the run; elsewhere
 * they are skipped, loudly, so a laptop without Redis can still run the rest.
 */
import { Redis } from 'ioredis';

/** Whether the tests of `file` that need `service` (at `url`, overridden by `envVar`) run. */
export async function requireService(
  file: string,
  service: string,
  url: string,
  envVar: string,
  available: () => Promise<boolean>,
): Promise<boolean> {
  if (await available()) return true;
  if (process.env.CI)
    throw new Error(`${file}: ${service} at ${url} is not reachable, and CI must run these tests`);
  console.warn(`\n*** SKIPPED ${file}: ${service} at ${url} is not reachable (set ${envVar}) ***\n`);
  return false;
}

export const REDIS_URL = process.env.CONVEYOR_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A connection to the test Redis that fails at once instead of retrying; quit it after use. */
export function testRedis(): Redis {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  return client;
}

/** True when the test Redis answers PING. */
export async function redisAvailable(): Promise<boolean> {
  const client = testRedis();
  try {
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Whether the Redis tests of `file` run (see requireService). */
export function requireRedis(file: string): Promise<boolean> {
  return requireService(file, 'Redis', REDIS_URL, 'CONVEYOR_TEST_REDIS_URL', redisAvailable);
}
