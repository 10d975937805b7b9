/**
 * Test helpers: a fresh SQLite file per Conveyor in a temp folder, tracked so the leak
 * check can tell when a test forgot to close one.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConveyor, type Conveyor, type ConveyorOptions } from '../../src/index.js';
import { silentLogger } from '../../src/core/logger.js';

const open = new Set<Conveyor>();

export function openConveyors(): Conveyor[] {
  return [...open];
}

/** A new temp directory for this test. */
export function tempDir(prefix = 'conveyor-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Tracks `cv` until it closes; `afterClose` runs once it has (cleanup of its database). */
export function trackConveyor(cv: Conveyor, afterClose?: () => Promise<void>): void {
  open.add(cv);
  const close = cv.close.bind(cv);
  cv.close = async () => {
    open.delete(cv);
    await close();
    await afterClose?.();
  };
}

/** A Conveyor on a new SQLite file (real file, WAL), closed by `close()` as usual. */
export async function openTestConveyor(options: ConveyorOptions = {}): Promise<Conveyor> {
  const cv = await createConveyor({
    database: join(tempDir(), 'conveyor.db'),
    logger: silentLogger,
    changePollMs: 10,
    ...options,
  });
  trackConveyor(cv);
  return cv;
}

/** Waits until `cond()` is true, polling; fails after `timeoutMs` with `what` in the message. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
