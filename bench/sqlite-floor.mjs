// The floor under the embedded drain: the SQL one drained item costs in Conveyor's schema,
// with no engine and no worker. Per item, as in a real drain: the claim SELECT (20 at a time),
// then a row update + receipt + event for `started`, later a row read, a row update + receipt
// + event for `completed` and the dependents lookup; 20 items' completions and the next
// 20 claims share one transaction, as the worker batches them. Hashes are SHA-256 of a short
// string, not the canonical receipt, so this is a lower bound on the store's cost.
//
//   npm run build && node bench/sqlite-floor.mjs      (N items, default 20000)
//
// What a design without some of these writes would cost, for comparison (each 0 drops one):
//   RECEIPTS=0 (no receipt rows), EVENTS=0 (no event rows), READS=0 (no row read and no
//   dependents lookup at completion). All three at 0 leave the claim read and two row updates
//   per item: the floor of any design that marks an item taken and then done in its row.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createConveyor } from '../dist/index.js';

const N = Number(process.env.N || 20000);
const file = join(mkdtempSync(join(tmpdir(), 'conveyor-floor-')), 'floor.db');
const cv = await createConveyor({ database: file });
for (let s = 0; s < N; s += 1000) {
  await cv.enqueueWorkItems(
    Array.from({ length: 1000 }, (_, i) => ({ type: 'bench', payload: { i: s + i } })),
  );
}
await cv.close();

const db = new Database(file);
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0'); // as the store: checkpoints happen off this thread
const claim = db.prepare(
  `SELECT * FROM items INDEXED BY items_claim WHERE status = 'queued' AND run_at <= ?
    ORDER BY priority DESC, run_at, seq LIMIT 20`,
);
const get = db.prepare('SELECT * FROM items WHERE id = ?');
const update = db.prepare(
  `UPDATE items SET status = ?, executor_id = ?, started_at = ?, attempts = ?, receipt_seq = ?,
     receipt_hash = ?, lease_token = ?, lease_expires_at = ? WHERE id = ?`,
);
const receipt = db.prepare(
  `INSERT INTO receipts (item_id, seq, id, status, timestamp_iso, executor_id, progress, output, error,
     retry_count, previous_hash, receipt_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);
const event = db.prepare(
  'INSERT INTO events (type, at, tenant, item_id, workflow_id, data) VALUES (?, ?, ?, ?, ?, ?)',
);
const dependents = db.prepare('SELECT item_id FROM item_deps WHERE depends_on_id = ?');
const keep = (name) => process.env[name] !== '0';
const [RECEIPTS, EVENTS, READS] = [keep('RECEIPTS'), keep('EVENTS'), keep('READS')];
const sha = (s) => createHash('sha256').update(s).digest('hex');

function transition(id, status, seq, receiptStatus) {
  const hash = sha(id + receiptStatus);
  const now = Date.now();
  update.run(status, 'w', now, 1, seq, hash, 1, status === 'running' ? now + 30000 : null, id);
  if (RECEIPTS)
    receipt.run(
      id,
      seq,
      randomUUID(),
      receiptStatus,
      new Date(now).toISOString(),
      'w',
      0,
      null,
      null,
      0,
      'x',
      hash,
    );
  if (EVENTS)
    event.run(
      `item.${receiptStatus}`,
      now,
      'default',
      id,
      null,
      JSON.stringify({ to: status, patch: { status, receiptHash: hash } }),
    );
}

const t0 = performance.now();
let held = [];
let done = 0;
while (done < N) {
  db.exec('BEGIN IMMEDIATE');
  for (const r of held) {
    if (READS) get.get(r.id);
    transition(r.id, 'completed', 3, 'completed');
    if (READS) dependents.all(r.id);
    done++;
  }
  held = claim.all(Date.now());
  for (const r of held) transition(r.id, 'running', 2, 'started');
  db.exec('COMMIT');
}
const s = (performance.now() - t0) / 1000;
process.stdout.write(
  JSON.stringify({
    bench: 'sqlite-floor',
    N,
    receipts: RECEIPTS,
    events: EVENTS,
    reads: READS,
    drain_per_s: Math.round(N / s),
    us_per_item: Math.round((s * 1e6) / N),
  }) + '\n',
);
db.close();
