/**
 * The work-item walk-through (`npm run example`). It drives items through the state
 * machine by hand as a push-style executor would (assign → start → progress → complete),
 * retries a failing item with backoff, cancels one (its dependent is skipped), releases a
 * dependent when its parent completes, runs a pull worker, and ends with one item's
 * receipt chain and its verification.
 *
 * Every step is checked with node:assert, so the script exits non-zero if anything does
 * not happen as printed.
 */
import assert from 'node:assert/strict';
import { createConveyor, createManualClock, NonRetryableError, verifyReceiptChain } from '../dist/index.js';

// A manual clock lets the demo skip backoff waits instead of sleeping; in an application
// you leave `clock` out and Conveyor uses the system clock.
const clock = createManualClock(Date.now());
const cv = await createConveyor({ database: ':memory:', clock });

const short = (id) => (id ? id.slice(0, 8) : '-');
const heading = (title) => console.log(`\n== ${title}`);
const line = (text) => console.log(`   ${text}`);
const item = (id) => cv.getWorkItem(id);

/** Runs `call`, expecting it to fail with a ConveyorError of `code`; prints the message. */
async function expectError(call, code) {
  await assert.rejects(call, (e) => {
    assert.equal(e.code, code);
    line(`✗ ${code}: ${e.message}`);
    return true;
  });
}

// -----------------------------------------------------------------------------------------
heading('1. Enqueue work items');
const report = await cv.enqueueWorkItem({
  type: 'report',
  payload: { month: '2026-01' },
  priority: 'high',
  constraints: { requiredCapabilities: ['pdf'] },
});
line(
  `report   ${short(report.id)}  status=${report.status} priority=${report.priority} queue=${report.queue}`,
);
assert.equal(report.status, 'queued');
assert.equal(report.priority, 10);

const [email, upload] = await cv.enqueueWorkItems([
  {
    type: 'email',
    payload: { to: 'ops@example.com' },
    constraints: { maxRetries: 3, backoff: { type: 'exponential', baseMs: 100, jitter: 0 } },
  },
  { type: 'upload', payload: { file: 'big.iso' }, priority: 'low' },
]);
line(`email    ${short(email.id)}  status=${email.status} maxRetries=${email.constraints.maxRetries}`);
line(`upload   ${short(upload.id)}  status=${upload.status} priority=${upload.priority}`);
const queued = await cv.getQueuedItems();
line(`queue order (priority, then runAt, then enqueue order): ${queued.map((i) => i.type).join(' → ')}`);
assert.deepEqual(
  queued.map((i) => i.type),
  ['report', 'email', 'upload'],
);

// -----------------------------------------------------------------------------------------
heading('2. A push-style executor runs the report: assign → start → progress → complete');
await cv.registerExecutor('executor-1', { capabilities: ['pdf', 'smtp'], concurrency: 4 });
await cv.registerExecutor('executor-2', { capabilities: ['smtp'] });
line('registered executor-1 [pdf, smtp] and executor-2 [smtp]');
await expectError(cv.assignWorkItem(report.id, 'executor-2'), 'CAPABILITY_MISMATCH');

let receipt = await cv.assignWorkItem(report.id, 'executor-1');
line(`assignWorkItem  → receipt #${receipt.seq} ${receipt.status} (${receipt.executorId})`);
assert.equal((await item(report.id)).status, 'assigned');
receipt = await cv.startExecution(report.id, 'executor-1');
line(`startExecution  → receipt #${receipt.seq} ${receipt.status}`);
assert.equal((await item(report.id)).status, 'running');
for (const pct of [25, 50, 75]) {
  receipt = await cv.reportProgress(report.id, 'executor-1', pct, `page ${pct / 25} of 4`);
  line(`reportProgress  → receipt #${receipt.seq} ${receipt.status} ${receipt.progress}%`);
  assert.equal((await item(report.id)).progress, pct);
}
receipt = await cv.completeWorkItem(report.id, 'executor-1', {
  success: true,
  output: { url: 's3://reports/2026-01.pdf' },
});
line(
  `completeWorkItem → receipt #${receipt.seq} ${receipt.status}, output ${JSON.stringify(receipt.output)}`,
);
const doneReport = await item(report.id);
assert.equal(doneReport.status, 'completed');
assert.equal(doneReport.progress, 100);
assert.deepEqual(doneReport.output, { url: 's3://reports/2026-01.pdf' });
line(`item: status=${doneReport.status} progress=${doneReport.progress} attempts=${doneReport.attempts}`);
await expectError(cv.completeWorkItem(report.id, 'executor-1', { output: {} }), 'INVALID_TRANSITION');

// -----------------------------------------------------------------------------------------
heading('3. A failing item is retried with exponential backoff (baseMs 100, no jitter)');
for (const expectedDelay of [100, 200]) {
  await cv.startExecution(email.id, 'executor-2'); // queued → running in one step
  receipt = await cv.failWorkItem(email.id, 'executor-2', {
    error: { code: 'SMTP_DOWN', message: 'connection refused' },
    retryable: true,
  });
  const retried = await item(email.id);
  const delay = Date.parse(retried.runAt) - clock.now();
  line(
    `failWorkItem → receipt #${receipt.seq} ${receipt.status} retryCount=${receipt.retryCount}; ` +
      `status=${retried.status}, runAt=${retried.runAt} (now + ${delay} ms)`,
  );
  assert.equal(receipt.status, 'retried');
  assert.equal(retried.status, 'queued');
  assert.equal(delay, expectedDelay);
  assert.equal(retried.error.code, 'SMTP_DOWN');
  await expectError(cv.startExecution(email.id, 'executor-2'), 'NOT_DUE');
  clock.advance(delay);
  line(`(clock advanced ${delay} ms)`);
}
await cv.startExecution(email.id, 'executor-2');
receipt = await cv.completeWorkItem(email.id, 'executor-2', { output: { messageId: '<42@example.com>' } });
const sent = await item(email.id);
line(`third attempt → ${receipt.status}; attempts=${sent.attempts} retries=${sent.retries}`);
assert.equal(sent.status, 'completed');
assert.equal(sent.attempts, 3);
assert.equal(sent.retries, 2);

const bad = await cv.enqueueWorkItem({ type: 'email', payload: { to: 'nobody' } });
await cv.startExecution(bad.id, 'executor-2');
receipt = await cv.failWorkItem(bad.id, 'executor-2', {
  error: { code: 'BAD_ADDRESS', message: 'no such mailbox' },
  retryable: false,
});
line(`retryable: false → receipt ${receipt.status}; item ${(await item(bad.id)).status} at once`);
assert.equal((await item(bad.id)).status, 'failed');

// -----------------------------------------------------------------------------------------
heading('4. Cancelling an item skips the items that depend on it');
const notify = await cv.enqueueWorkItem({
  type: 'email',
  payload: { to: 'ops@example.com', text: 'upload done' },
  constraints: { dependencies: [upload.id] },
});
line(`notify   ${short(notify.id)}  depends on upload → status=${notify.status}`);
assert.equal(notify.status, 'pending');
receipt = await cv.cancelWorkItem(upload.id, null, { reason: 'user aborted the upload' });
const cancelled = await item(upload.id);
const skipped = await item(notify.id);
line(`cancelWorkItem → receipt #${receipt.seq} ${receipt.status}; error ${JSON.stringify(cancelled.error)}`);
line(`notify → ${skipped.status}; error ${JSON.stringify(skipped.error)}`);
assert.equal(cancelled.status, 'cancelled');
assert.equal(cancelled.error.code, 'CANCELLED');
assert.equal(skipped.status, 'skipped');
assert.equal(skipped.error.code, 'DEPENDENCY_FAILED');

// -----------------------------------------------------------------------------------------
heading('5. A dependent item waits (pending) until its parent completes');
const build = await cv.enqueueWorkItem({ type: 'build', payload: { ref: 'main' } });
const deploy = await cv.enqueueWorkItem({
  type: 'deploy',
  payload: { env: 'staging' },
  constraints: { dependencies: [build.id] },
});
line(`build ${short(build.id)} ${build.status}; deploy ${short(deploy.id)} ${deploy.status}`);
assert.equal(deploy.status, 'pending');
await expectError(cv.startExecution(deploy.id, 'executor-1'), 'INVALID_TRANSITION');
await cv.startExecution(build.id, 'executor-1');
await cv.completeWorkItem(build.id, 'executor-1', { output: { artifact: 'app.tar.gz' } });
const ready = await item(deploy.id);
line(`build completed → deploy ${ready.status}`);
assert.equal(ready.status, 'queued');
await expectError(
  cv.enqueueWorkItems([
    { id: 'step-a', type: 'build', constraints: { dependencies: ['step-b'] } },
    { id: 'step-b', type: 'build', constraints: { dependencies: ['step-a'] } },
  ]),
  'CYCLE',
);

// -----------------------------------------------------------------------------------------
heading('6. A pull worker runs items (concurrency 3)');
const worker = cv.worker({
  id: 'worker-1',
  concurrency: 3,
  handlers: {
    thumbnail: async (payload, ctx) => {
      await ctx.progress(50, 'decoded');
      await ctx.log(`resizing ${payload.image} to ${payload.width}px`);
      return { thumbnail: `${payload.image}@${payload.width}w` };
    },
    ocr: async () => {
      throw new NonRetryableError('unsupported file type');
    },
  },
});
const finished = new Map();
let allFinished;
const waitAll = new Promise((resolve) => (allFinished = resolve));
const sub = cv.subscribe({}, (event) => {
  if (event.type !== 'item.completed' && event.type !== 'item.failed') return;
  finished.set(event.itemId, event.type);
  if (finished.size === 5) allFinished();
});
await sub.ready; // live events from here on
await worker.start();
const images = await cv.enqueueWorkItems(
  ['a.png', 'b.png', 'c.png', 'd.png'].map((image) => ({
    type: 'thumbnail',
    payload: { image, width: 320 },
  })),
);
const scan = await cv.enqueueWorkItem({ type: 'ocr', payload: { file: 'scan.tiff' } });
const timeout = setTimeout(() => assert.fail('the worker did not finish 5 items within 10 s'), 10_000);
await waitAll;
clearTimeout(timeout);
sub.close();
await worker.stop();
for (const img of images) {
  const i = await item(img.id);
  line(`thumbnail ${short(i.id)} ${i.status} by ${i.executorId}: ${JSON.stringify(i.output)}`);
  assert.equal(i.status, 'completed');
  assert.equal(i.output.thumbnail, `${i.payload.image}@320w`);
}
const ocr = await item(scan.id);
line(`ocr       ${short(ocr.id)} ${ocr.status} after ${ocr.attempts} attempt: ${ocr.error.message}`);
assert.equal(ocr.status, 'failed');
assert.equal(ocr.error.code, 'NON_RETRYABLE');
assert.equal(ocr.attempts, 1);
const logs = await cv.getWorkItemLogs(images[0].id);
line(`log of ${short(images[0].id)}: ${logs.map((l) => `[attempt ${l.attempt}] ${l.message}`).join('; ')}`);
assert.equal(logs.length, 1);

// -----------------------------------------------------------------------------------------
heading(`7. The receipt chain of the report (${short(report.id)})`);
const receipts = await cv.getWorkItemReceipts(report.id);
const hash = (h) => (h ? `${h.slice(0, 10)}…` : 'null       ');
line('seq  status      executor     progress  retries  previousReceiptHash → receiptHash');
for (const r of receipts) {
  line(
    `${String(r.seq).padEnd(4)} ${r.status.padEnd(11)} ${String(r.executorId ?? '-').padEnd(12)} ` +
      `${String(r.progress).padStart(8)}  ${String(r.retryCount).padStart(7)}  ` +
      `${hash(r.previousReceiptHash)} → ${hash(r.receiptHash)}`,
  );
}
assert.deepEqual(
  receipts.map((r) => r.status),
  ['enqueued', 'assigned', 'started', 'progress', 'progress', 'progress', 'completed'],
);
for (let i = 1; i < receipts.length; i++)
  assert.equal(receipts[i].previousReceiptHash, receipts[i - 1].receiptHash);
const verification = await cv.verifyReceipts(report.id);
line(`verifyReceipts → ${JSON.stringify(verification)}`);
assert.equal(verification.valid, true);
assert.equal(verification.count, 7);

// Change one field of one receipt and the chain no longer verifies from that link on.
const tampered = receipts.map((r) => (r.seq === 4 ? { ...r, progress: 99 } : r));
const broken = verifyReceiptChain(report.id, tampered);
line(`a copy with receipt 4 edited → valid=${broken.valid}, firstBrokenSeq=${broken.firstBrokenSeq}`);
assert.equal(broken.valid, false);
assert.equal(broken.firstBrokenSeq, 4);

// -----------------------------------------------------------------------------------------
heading('8. Where everything ended up');
const counts = await cv.getCounts();
line(`getCounts → ${JSON.stringify(counts)}`);
assert.deepEqual(counts, {
  pending: 0,
  queued: 1, // deploy: nothing here has a handler for it
  assigned: 0,
  running: 0,
  completed: 7,
  failed: 2,
  cancelled: 1,
  skipped: 1,
});
const replay = await cv.checkEventLog();
line(`event log replayed: ${replay.items} items, ${replay.mismatches.length} differ from the stored rows`);
assert.equal(replay.mismatches.length, 0);

await cv.close();
console.log('\nAll steps behaved as expected.');
