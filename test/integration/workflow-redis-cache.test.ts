/**
 * The cache policy with a cache resource on real Redis (ioredis), on both stores: the first
 * run computes and stores the output under the step's handler type and resolved key, with
 * its TTL; a second run (another Conveyor, as another process would be) is a hit that
 * completes the step without running it, and the receipts say so.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisCache, type Conveyor } from '../../src/index.js';
import { postgresBackend, requirePostgres, sqliteBackend } from '../helpers/backends.js';
import { REDIS_URL, requireRedis, testRedis } from '../helpers/services.js';

const redis = await requireRedis('workflow-redis-cache.test.ts');
const postgres = await requirePostgres('workflow-redis-cache.test.ts');

let opened: Conveyor[] = [];
afterEach(async () => {
  for (const cv of opened.reverse()) await cv.close();
  opened = [];
});

for (const [kind, backend, enabled] of [
  ['sqlite', sqliteBackend, redis],
  ['postgres', postgresBackend, redis && postgres],
] as const) {
  describe.skipIf(!enabled)(`cache-aside on Redis (${kind})`, () => {
    it('a hit in Redis skips the step, in another Conveyor too; the entry carries the TTL', async () => {
      const keyPrefix = `cvt:${randomBytes(4).toString('hex')}:`;
      const resources = { redis: () => createRedisCache({ url: REDIS_URL, keyPrefix }) };
      const a = await backend.open({ resources });
      opened.push(a);
      const b = await backend.openSibling(a, { resources });
      opened.push(b);
      let calls = 0;
      const w = a.worker({ handlers: { profile: (p: { id: string }) => ({ id: p.id, n: ++calls }) } });
      await w.start();
      const def = a
        .workflow('profiles')
        .step('profile', 'profile', {
          input: { id: '{{input.id}}' },
          cache: { key: 'profile:{{input.id}}', ttlMs: 60_000, resource: 'redis' },
        })
        .build();
      const first = await a.startWorkflow(def, { id: 'u1' });
      expect((await a.waitForWorkflow(first.id, { timeoutMs: 10_000 })).results.profile).toEqual({
        id: 'u1',
        n: 1,
      });
      const client = testRedis();
      try {
        expect(JSON.parse((await client.get(`${keyPrefix}profile:profile:u1`))!)).toEqual({ id: 'u1', n: 1 });
        const ttl = await client.pttl(`${keyPrefix}profile:profile:u1`);
        expect(ttl).toBeGreaterThan(50_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      } finally {
        client.disconnect();
      }
      // Started from the other Conveyor; the hit is found before any worker could run it.
      const second = await b.startWorkflow(def, { id: 'u1' });
      const result = await b.waitForWorkflow(second.id, { timeoutMs: 10_000 });
      expect(result.results.profile).toEqual({ id: 'u1', n: 1 });
      expect(calls).toBe(1);
      const step = (await b.getWorkflow(second.id)).steps[0]!;
      const receipts = (await b.getWorkItemReceipts(step.itemId)).map(
        (r) => `${r.status}:${r.executorId ?? '-'}`,
      );
      expect(receipts).toEqual(['enqueued:-', 'started:conveyor:cache', 'completed:conveyor:cache']);
      await w.stop();
    });

    it('a cache resource that is not declared fails the definition', async () => {
      const cv = await backend.open();
      opened.push(cv);
      expect(() =>
        cv
          .workflow('x')
          .step('s', 't', { cache: { key: 'k', ttlMs: 1000, resource: 'nope' } })
          .build(),
      ).toThrow(expect.objectContaining({ code: 'VALIDATION', field: 'steps[0].cache.resource' }) as Error);
    });
  });
}
