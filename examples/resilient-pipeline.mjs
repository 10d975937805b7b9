// A resilient pipeline: a flaky step retried with backoff, a rate-limited step (a token
// bucket shared by every worker), and a step behind a circuit breaker with a fallback.
// Run: npm run build && node examples/resilient-pipeline.mjs
import { createConveyor, NonRetryableError } from 'conveyor';

const cv = await createConveyor({ database: process.env.CONVEYOR_DATABASE_URL ?? ':memory:' });
let flakyCalls = 0;

const worker = cv.worker({
  concurrency: 8,
  handlers: {
    // Fails twice, then works: the retry policy absorbs it.
    load_orders: async () => {
      if (++flakyCalls < 3) throw new Error('connection reset');
      return { orders: Array.from({ length: 6 }, (_, i) => ({ id: i + 1, total: 10 * (i + 1) })) };
    },
    // At most 20 calls a second with a burst of 2, across all workers.
    convert_currency: async ({ order }) => ({
      ...order,
      totalEur: Math.round(order.total * 0.92 * 100) / 100,
    }),
    // The pricing service is down: the breaker opens and the fallback answers.
    live_prices: async () => {
      throw new NonRetryableError('pricing service unavailable');
    },
    cached_prices: async () => ({ source: 'cache', discount: 0.05 }),
    summarize: async ({ orders, prices }) => ({
      orders: orders.length,
      totalEur: orders.reduce((s, o) => s + o.totalEur, 0),
      priceSource: prices.source,
    }),
  },
});
await worker.start();

const pipeline = cv
  .workflow('resilient')
  .step('orders', 'load_orders', { retry: { maxRetries: 3, backoff: { type: 'exponential', baseMs: 20 } } })
  .step('convert', 'convert_currency', {
    map: { over: '{{steps.orders.output.orders}}' },
    input: { order: '{{item}}' },
    rateLimit: { key: 'fx-api', perSecond: 20, burst: 2 },
  })
  .step('prices', 'live_prices', {
    circuitBreaker: { key: 'pricing', failureThreshold: 1, resetTimeoutMs: 30_000 },
    fallback: { type: 'cached_prices' },
  })
  .step('summary', 'summarize', {
    input: { orders: '{{steps.convert.output}}', prices: '{{steps.prices.output}}' },
  })
  .build();

const run = await cv.startWorkflow(pipeline);
const result = await cv.waitForWorkflow(run.id);
console.log(result.status, JSON.stringify(result.results.summary));
const prices = (await cv.getWorkflow(run.id)).steps.find((s) => s.id === 'prices');
console.log(`load_orders attempts: ${flakyCalls}; prices fallback: ${prices.fallback}`);
await cv.close();
