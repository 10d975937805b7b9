import { createConveyor } from 'conveyor';

// ':memory:' for a demo; leave `database` out to use the file ./conveyor.db.
const cv = await createConveyor({ database: ':memory:' });

// A pull worker claims items of the types it has handlers for, each under a lease.
const worker = cv.worker({
  concurrency: 4,
  handlers: {
    resize: async (payload, ctx) => {
      await ctx.progress(50, 'decoded');
      return { thumbnail: `${payload.image}@${payload.width}w` };
    },
  },
});
await worker.start();

const item = await cv.enqueueWorkItem({ type: 'resize', payload: { image: 'cat.png', width: 320 } });

// Follow the item's events (afterSeq: 0 replays them from the start) until it completes.
await new Promise((resolve) => {
  cv.subscribe({ itemId: item.id, afterSeq: 0 }, (event) => {
    console.log(event.seq, event.type);
    if (event.type === 'item.completed') resolve();
  });
});

const done = await cv.getWorkItem(item.id);
console.log(done.status, done.output);
const check = await cv.verifyReceipts(item.id);
console.log('receipts valid:', check.valid, `(${check.count} receipts)`);

await cv.close(); // stops the worker (graceful drain) and the subscription
