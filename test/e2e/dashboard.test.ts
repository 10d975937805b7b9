/**
 * The dashboard end to end (CONTRACT §9): the built app (`npm run build` → dist/dashboard)
 * served by a real server over a temp SQLite file, driven in headless Chromium. It runs the
 * demo workflow from its button and watches the graph go green over SSE, opens a step's
 * task and its verified receipts, filters the task list, and reads the executors and the
 * queue chart; then, with API keys configured, it is asked for a key, refuses a wrong one
 * and shows the tenant's data with the right one. The page must log no errors.
 *
 * Needs /usr/bin/chromium: CI installs it, so there its absence fails the suite; elsewhere
 * the suite is skipped with a warning. `UPDATE_SCREENSHOTS=1` also writes the screenshots
 * of docs/dashboard.md (docs/images/dashboard-*.png).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Handler } from '../../src/index.js';
import { parseApiKeys } from '../../src/server.js';
import { startTestApi, type TestApi } from '../helpers/api-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dashboardDir = join(root, 'dist/dashboard');
const images = join(root, 'docs/images');
const CHROMIUM = '/usr/bin/chromium';
const screenshots = process.env.UPDATE_SCREENSHOTS === '1';
const runnable = existsSync(CHROMIUM) || Boolean(process.env.CI);
if (!runnable)
  console.warn(
    `\n*** test/e2e/dashboard.test.ts SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium) ***\n`,
  );

/** Generous, and never an assertion about speed: only how long to wait before giving up. */
const WAIT = { timeout: 30_000 };
const KEY = 'dashboard-e2e-key-acme-0001';

/** A task that writes log lines, for the task page's logs (the demo's built-ins write none). */
const report: Handler<{ rows: number }> = async (payload, ctx) => {
  await ctx.log(`reading ${payload.rows} rows`);
  await ctx.log(`wrote report of ${payload.rows} rows`);
  return { rows: payload.rows };
};

/** Page errors and console errors, except those `expected` allows. */
function watchErrors(page: Page, expected: RegExp[] = []): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected.some((re) => re.test(m.text())))
      errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  return errors;
}

async function shoot(page: Page, name: string): Promise<void> {
  if (!screenshots) return;
  mkdirSync(images, { recursive: true });
  // Transitions (progress bars) settle first, so the picture is not caught mid-way.
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(images, `dashboard-${name}.png`) });
}

/** `name` of every element `locator` matches (the test's tsconfig has no DOM types for evaluateAll). */
/** One attribute of every match, read in one go (a re-render between reads cannot split it). */
function attributes(locator: Locator, name: string): Promise<(string | null)[]> {
  // Runs in the page; typed by hand, since the tests' tsconfig has no DOM library.
  type Attributed = { getAttribute(n: string): string | null };
  return locator.evaluateAll(
    (els: unknown[], n: string) => (els as Attributed[]).map((e) => e.getAttribute(n)),
    name,
  );
}

const rows = (page: Page) => page.locator('[data-testid="tasks-table"] tbody tr');
const statusChip = (page: Page, status: string) =>
  page.locator('.status-filter label.chip', { hasText: new RegExp(`^${status}$`) });

describe.skipIf(!runnable)('dashboard (built app, headless Chromium)', () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`CI must install Chromium at ${CHROMIUM}`);
    if (!existsSync(join(dashboardDir, 'index.html')))
      throw new Error(`no built dashboard in ${dashboardDir}: run \`npm run build\` first`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  describe('without API keys', () => {
    let api: TestApi;
    let context: BrowserContext;

    beforeAll(async () => {
      api = await startTestApi({
        dashboardDir,
        handlers: { report },
        config: { port: 0, statsIntervalMs: 1000 },
      });
      context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    });

    afterAll(async () => {
      await context?.close();
      await api?.close();
    });

    it('runs the demo workflow live, then shows its tasks, receipts, executors and queue depth', async () => {
      const logged = await api.request<{ id: string }>('POST', '/api/tasks', {
        body: { type: 'report', name: 'nightly-report', payload: { rows: 3 } },
      });
      expect(logged.status).toBe(201);
      const page = await context.newPage();
      const errors = watchErrors(page);
      await page.goto(`${api.url}/#/workflows`);
      await page.locator('[data-testid="workflows-empty"]').waitFor(WAIT);

      await page.locator('[data-testid="run-demo"]').click();
      await page.waitForURL(/#\/workflows\/[^/]+$/, WAIT);
      const nodes = page.locator('[data-testid="step-graph"] [data-step-id]');
      await expect.poll(() => nodes.count(), WAIT).toBe(6);
      await expect
        .poll(() => attributes(nodes, 'data-step-id'), WAIT)
        .toEqual(
          expect.arrayContaining(['fetch', 'lint', 'unit-tests', 'security-scan', 'package', 'publish']),
        );

      if (screenshots) {
        // Mid-run: fetch done, the three checks going in parallel.
        await page.locator('[data-step-id="fetch"][data-status="completed"]').waitFor(WAIT);
        await shoot(page, 'workflow');
      }
      for (const id of ['fetch', 'lint', 'unit-tests', 'security-scan', 'package', 'publish'])
        await page.locator(`[data-step-id="${id}"][data-status="completed"]`).waitFor(WAIT);
      await page.locator('[data-testid="workflow-summary"][data-status="completed"]').waitFor(WAIT);
      await expect.poll(() => attributes(nodes, 'data-progress'), WAIT).toEqual(Array(6).fill('100'));

      // A step opens its task: its fields and its receipt chain, verified by the server.
      await page.locator('[data-step-id="unit-tests"]').click();
      await page.waitForURL(/#\/tasks\/[^/]+unit-tests$/, WAIT);
      const verdict = page.locator('[data-testid="receipts-verdict"]');
      await verdict.waitFor(WAIT);
      expect(await verdict.getAttribute('data-valid')).toBe('true');
      expect(await verdict.textContent()).toMatch(/chain verified/i);
      expect(await page.locator('[data-testid="task-fields"]').textContent()).toContain('completed');
      await shoot(page, 'task');

      // The task list, filtered by status on the server, searched on the page.
      await page.locator('nav a', { hasText: 'Tasks' }).click();
      await rows(page).first().waitFor(WAIT);
      await page.locator('[data-testid="queue-chart"] .uplot').waitFor(WAIT);
      await shoot(page, 'tasks');
      await statusChip(page, 'completed').click();
      await page.waitForURL(/status=completed/, WAIT);
      // Polled as a whole: the unfiltered list also has 7 rows, and the filtered one replaces it.
      await expect
        .poll(() => attributes(rows(page), 'data-status'), WAIT)
        .toEqual(Array(7).fill('completed'));
      await page.locator('input[name="search"]').fill('publish');
      await expect.poll(() => rows(page).count(), WAIT).toBe(1);
      // The logging task, found by name, and its log lines.
      await page.locator('input[name="search"]').fill('nightly');
      await expect.poll(() => rows(page).count(), WAIT).toBe(1);
      await rows(page).locator('a', { hasText: 'nightly-report' }).click();
      await page.waitForURL(new RegExp(`#/tasks/${logged.body.id}$`), WAIT);
      await page.locator('[data-testid="task-logs"] li', { hasText: 'wrote report of 3 rows' }).waitFor(WAIT);
      await page.goBack();
      await page.locator('input[name="search"]').fill('');
      await statusChip(page, 'completed').click();
      await statusChip(page, 'failed').click();
      await page.waitForURL(/status=failed$/, WAIT);
      await page.locator('[data-testid="tasks-empty"]').waitFor(WAIT);

      // The workflows list, filtered by status and by name.
      await page.goto(`${api.url}/#/workflows?status=completed`);
      await page.locator('[data-testid="workflows-table"] tr[data-status="completed"]').waitFor(WAIT);
      await page.locator('input[name="name"]').fill('no-such-workflow');
      await page.locator('input[name="name"]').press('Enter');
      await page.waitForURL(/name=no-such-workflow/, WAIT);
      await page.locator('[data-testid="workflows-empty"]').waitFor(WAIT);

      // The executors: the server's in-process worker, with its heartbeat.
      await page.locator('nav a', { hasText: 'Executors' }).click();
      const executor = page.locator('[data-testid="executors-table"] tr[data-executor-id^="worker-"]');
      await executor.first().waitFor(WAIT);
      expect(await executor.first().textContent()).toMatch(/s ago/);

      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);
  });

  describe('with API keys', () => {
    let api: TestApi;
    let context: BrowserContext;

    beforeAll(async () => {
      api = await startTestApi({ dashboardDir, config: { port: 0, apiKeys: parseApiKeys(`${KEY}:acme`) } });
      context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    });

    afterAll(async () => {
      await context?.close();
      await api?.close();
    });

    it('asks for a key, refuses a wrong one, and shows the data with the right one', async () => {
      const made = await api.request<{ id: string }>('POST', '/api/tasks', {
        key: KEY,
        body: { type: 'noop', name: 'keyed-task', payload: { hello: 'acme' } },
      });
      expect(made.status).toBe(201);

      const page = await context.newPage();
      // Being asked for a key takes a 401, which Chromium logs; nothing else may be logged.
      const errors = watchErrors(page, [/status of 401/]);
      await page.goto(`${api.url}/#/tasks`);
      const form = page.locator('[data-testid="key-form"]');
      await form.waitFor(WAIT);

      await form.locator('input[name="api-key"]').fill('not-the-right-key-at-all');
      await form.locator('button[type="submit"]').click();
      const refusal = page.locator('[data-testid="key-error"]');
      await refusal.waitFor(WAIT);
      expect(await refusal.textContent()).toMatch(/refused/i);
      expect(await page.evaluate<number>('localStorage.length')).toBe(0);

      await form.locator('input[name="api-key"]').fill(KEY);
      await form.locator('button[type="submit"]').click();
      await page.locator(`[data-testid="tasks-table"] tr[data-task-id="${made.body.id}"]`).waitFor(WAIT);
      await form.waitFor({ state: 'detached', ...WAIT });

      // The key is remembered: a reload goes straight to the data, live stream included.
      await page.reload();
      await page.locator(`[data-testid="tasks-table"] tr[data-task-id="${made.body.id}"]`).waitFor(WAIT);
      await page.locator(`a[href="#/tasks/${made.body.id}"]`).click();
      await page.locator('[data-testid="receipts-verdict"][data-valid="true"]').waitFor(WAIT);
      expect(await page.locator('[data-testid="key-form"]').count()).toBe(0);

      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);
  });
});
