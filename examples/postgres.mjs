// Conveyor on PostgreSQL: the same API, pointed at a database URL. Run any number of these
// processes, on any number of machines, against one database: they share the queue.
//
//   CONVEYOR_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node examples/postgres.mjs
import { createConveyor } from 'conveyor';

const database = process.env.CONVEYOR_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// Tables live in their own schema (created on first use), so apps can share a database.
const cv = await createConveyor({ database, schema: 'conveyor_example', poolSize: 5 });

const worker = cv.worker({
  concurrency: 10,
  handlers: { square: async ({ n }) => ({ square: n * n }) },
});
await worker.start();

// One batch, all or nothing; an idle worker in any process is woken by LISTEN/NOTIFY.
const items = await cv.enqueueWorkItems(
  Array.from({ length: 100 }, (_, n) => ({ type: 'square', payload: { n } })),
);

// Wait for this run's items (the schema may hold earlier runs' too).
for (const { id } of items) {
  while ((await cv.getWorkItem(id)).status !== 'completed') await new Promise((r) => setTimeout(r, 20));
}
const last = await cv.getWorkItem(items.at(-1).id);
console.log(`completed ${items.length} items; the last one returned`, last.output);
console.log('receipts valid:', (await cv.verifyReceipts(last.id)).valid);
await cv.close();
