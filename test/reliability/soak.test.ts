/**
 * Reliability scenario 13 (issue 7): a soak through the embedded store. SOAK_ITEMS items
 * (default 100,000 in CI; `npm run chaos`: 1,000,000) are enqueued in batches of 1,000
 * while a worker (concurrency 20, a handler that returns at once) runs them, on a SQLite
 * file. After every tenth of the items the process's RSS (after a full GC) and its open
 * file descriptors (/proc/self/fd) are sampled. Properties: every item completes; after the
 * warm-up (the first fifth) RSS grows by less than 10% and file descriptors stay flat.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openTestConveyor } from '../helpers/conveyors.js';

const ITEMS = Number(process.env.SOAK_ITEMS ?? 100_000);
const BATCH = 1000;

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const fds = () => readdirSync('/proc/self/fd').length;

describe('soak on the embedded store', () => {
  it(`${ITEMS} items: all complete, RSS and file descriptors flat after warm-up`, async () => {
    const cv = await openTestConveyor({ changePollMs: 50 });
    try {
      // Counted in the handler: asking the store for counts would itself grow with the table.
      let ran = 0;
      const worker = cv.worker({ handlers: { soak: () => void ran++ }, concurrency: 20 });
      await worker.start();
      const samples: Array<{ done: number; rssMb: number; fds: number }> = [];
      const started = Date.now();
      let next = ITEMS / 10;
      for (let sent = 0; sent < ITEMS; sent += BATCH) {
        await cv.enqueueWorkItems(Array.from({ length: BATCH }, () => ({ type: 'soak' })));
        // Keep the backlog bounded, so the soak measures steady work, not a growing queue.
        while (sent + BATCH - ran > 5 * BATCH) await new Promise((r) => setTimeout(r, 10));
        if (sent + BATCH >= next) {
          gc();
          samples.push({ done: ran, rssMb: process.memoryUsage().rss / 2 ** 20, fds: fds() });
          next += ITEMS / 10;
        }
      }
      while (ran < ITEMS) await new Promise((r) => setTimeout(r, 20));
      await worker.stop();
      const counts = await cv.getCounts({ type: 'soak' });
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `soak: ${ITEMS} items in ${seconds.toFixed(0)} s (${Math.round(ITEMS / seconds)}/s); RSS MB ` +
          samples.map((s) => s.rssMb.toFixed(0)).join(' ') +
          `; fds ${samples.map((s) => s.fds).join(' ')}`,
      );
      expect(counts).toMatchObject({ completed: ITEMS, queued: 0, running: 0, failed: 0 });
      const warm = samples[1]!;
      const last = samples.at(-1)!;
      expect(last.rssMb).toBeLessThan(warm.rssMb * 1.1);
      expect(last.fds).toBeLessThanOrEqual(warm.fds + 2);
    } finally {
      await cv.close();
    }
  }, 1_800_000);
});
