/**
 * The examples run and print what the README and the walk-through promise, and the README's
 * quick start and the guide's Resources example are the code of examples/quick-start.mjs and
 * examples/resources.mjs, character for character. The examples import the built package,
 * so `npm run build` must have run (npm test does it first).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PG_URL, requirePostgres } from '../helpers/backends.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runExample(file: string, database = ':memory:'): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [file],
      { cwd: root, timeout: 30_000, env: { ...process.env, CONVEYOR_DATABASE_URL: database } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The first ```js block after the `heading` line of the markdown file `doc`. */
function firstJsBlock(doc: string, heading: string): string {
  const text = readFileSync(join(root, doc), 'utf8');
  const section = text.split(new RegExp(`^${heading}$`, 'm'))[1];
  expect(section, `${doc} has a "${heading}" section`).toBeDefined();
  const block = /^```js\n([\s\S]*?)^```$/m.exec(section!);
  expect(block, `${heading} has a \`\`\`js block`).not.toBeNull();
  return block![1]!;
}

const postgres = await requirePostgres('examples.test.ts (examples/postgres.mjs)');

describe('examples', () => {
  it.skipIf(!postgres)('postgres.mjs runs 100 items on PostgreSQL, twice in a row', async () => {
    for (let run = 0; run < 2; run++) {
      const result = await runExample('examples/postgres.mjs', PG_URL);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(
        'completed 100 items; the last one returned { square: 9801 }\nreceipts valid: true\n',
      );
    }
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query('DROP SCHEMA IF EXISTS conveyor_example CASCADE');
    await client.end();
  });

  it('dist/ is built', () => {
    expect(existsSync(join(root, 'dist/index.js')), 'run `npm run build` first').toBe(true);
  });

  it('the README library example is examples/quick-start.mjs', () => {
    const file = readFileSync(join(root, 'examples/quick-start.mjs'), 'utf8');
    expect(firstJsBlock('README.md', '## The library')).toBe(file);
  });

  it('quick-start.mjs runs an item to completion', async () => {
    const run = await runExample('examples/quick-start.mjs');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toEqual([
      '1 item.enqueued',
      '2 item.started',
      '3 item.progress',
      '4 item.completed',
      "completed { thumbnail: 'cat.png@320w' }",
      'receipts valid: true (4 receipts)',
    ]);
  });

  it("the guide's Resources example is examples/resources.mjs, and it runs", async () => {
    const file = readFileSync(join(root, 'examples/resources.mjs'), 'utf8');
    expect(firstJsBlock('docs/guide.md', '## Resources')).toBe(file);
    const run = await runExample('examples/resources.mjs');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      [
        '9 items, 3 API calls',
        '[',
        "  { city: 'Lima', n: 3 },",
        "  { city: 'Nairobi', n: 3 },",
        "  { city: 'Oslo', n: 3 }",
        ']',
        'database open after close: false',
        '',
      ].join('\n'),
    );
  });

  it('the workflows guide example is examples/workflow-quick-start.mjs, and it runs', async () => {
    const file = readFileSync(join(root, 'examples/workflow-quick-start.mjs'), 'utf8');
    expect(firstJsBlock('docs/workflows.md', '## A first workflow')).toBe(file);
    const run = await runExample('examples/workflow-quick-start.mjs');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      "completed {\n  build: { artifact: 'app-1.4.2.tgz' },\n  test: { artifact: 'app-1.4.2.tgz', passed: true }\n}\n",
    );
  });

  it('the HTTP guide example is examples/http-quick-start.mjs, and it runs', async () => {
    const file = readFileSync(join(root, 'examples/http-quick-start.mjs'), 'utf8');
    expect(firstJsBlock('docs/http.md', '## A first request')).toBe(file);
    const run = await runExample('examples/http-quick-start.mjs');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      "task.completed { greeting: 'hello, Ada' }\ncompleted { greet: { greeting: 'hello, Lin' } }\nreceipts valid: true\n",
    );
  });

  it('the three workflow pipelines run to completion', async () => {
    const expected: Record<string, string> = {
      'examples/data-enrichment.mjs':
        'completed {"users":30,"byCountry":{"FR":10,"DE":10,"JP":10},"meanScore":50.2}\n',
      'examples/deploy-pipeline.mjs':
        'completed https://staging.example.test/app-1.4.2.tgz\norder: build → test:integration + test:unit → deploy:staging\n',
      'examples/resilient-pipeline.mjs':
        'completed {"orders":6,"totalEur":193.2,"priceSource":"cache"}\nload_orders attempts: 3; prices fallback: true\n',
    };
    for (const [file, stdout] of Object.entries(expected)) {
      const run = await runExample(file);
      expect(run.stderr, file).toBe('');
      expect(run.code, file).toBe(0);
      expect(run.stdout, file).toBe(stdout);
    }
  });

  it('work-items.mjs walks through every step and exits 0', async () => {
    const run = await runExample('examples/work-items.mjs');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout;
    for (const heading of [
      '== 1. Enqueue work items',
      '== 2. A push-style executor runs the report',
      '== 3. A failing item is retried with exponential backoff',
      '== 4. Cancelling an item skips the items that depend on it',
      '== 5. A dependent item waits (pending) until its parent completes',
      '== 6. A pull worker runs items',
      '== 7. The receipt chain of the report',
      '== 8. Where everything ended up',
    ]) {
      expect(out).toContain(heading);
    }
    expect(out).toContain('✗ CAPABILITY_MISMATCH');
    for (const pct of [25, 50, 75])
      expect(out).toMatch(new RegExp(`reportProgress +→ receipt #\\d+ progress ${pct}%`));
    expect(out).toMatch(/completeWorkItem → receipt #7 completed/);
    expect(out).toMatch(
      /failWorkItem → receipt #3 retried retryCount=1; status=queued, runAt=\S+ \(now \+ 100 ms\)/,
    );
    expect(out).toMatch(
      /failWorkItem → receipt #5 retried retryCount=2; status=queued, runAt=\S+ \(now \+ 200 ms\)/,
    );
    expect(out).toContain('✗ NOT_DUE');
    expect(out).toContain('third attempt → completed; attempts=3 retries=2');
    expect(out).toMatch(/cancelWorkItem → receipt #2 cancelled; error \{"code":"CANCELLED"/);
    expect(out).toMatch(/notify → skipped; error \{"code":"DEPENDENCY_FAILED"/);
    expect(out).toMatch(/build \w+ queued; deploy \w+ pending/);
    expect(out).toContain('build completed → deploy queued');
    expect(out).toContain('✗ CYCLE: dependency cycle: step-a → step-b → step-a');
    expect(out.match(/thumbnail \w+ completed by worker-1/g)).toHaveLength(4);
    expect(out).toMatch(/ocr +\w+ failed after 1 attempt: unsupported file type/);
    for (const status of ['enqueued', 'assigned', 'started', 'progress', 'completed'])
      expect(out).toMatch(new RegExp(`^ +\\d+ +${status} `, 'm'));
    expect(out).toMatch(/^ +1 +enqueued .* null +→ [0-9a-f]{10}…$/m);
    expect(out).toMatch(/verifyReceipts → \{"itemId":"[^"]+","valid":true,"count":7,"firstBrokenSeq":null/);
    expect(out).toContain('a copy with receipt 4 edited → valid=false, firstBrokenSeq=4');
    expect(out).toContain(
      'getCounts → {"pending":0,"queued":1,"assigned":0,"running":0,"completed":7,"failed":2,"cancelled":1,"skipped":1}',
    );
    expect(out).toMatch(/event log replayed: 12 items, 0 differ/);
    expect(out.trimEnd().endsWith('All steps behaved as expected.')).toBe(true);
  });
});
