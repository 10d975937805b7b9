// A data-enrichment pipeline: fetch users → enrich each one in parallel (a map step, five
// at a time) → aggregate statistics. Run: npm run build && node examples/data-enrichment.mjs
import { createConveyor } from 'conveyor';

const cv = await createConveyor({ database: process.env.CONVEYOR_DATABASE_URL ?? ':memory:' });

const worker = cv.worker({
  concurrency: 10,
  handlers: {
    // Stands in for an API call that lists accounts.
    fetch_users: async ({ count }) => ({
      users: Array.from({ length: count }, (_, i) => ({ id: i + 1, country: ['FR', 'DE', 'JP'][i % 3] })),
    }),
    // One call per user: the map step gives each its element as `user`.
    enrich_user: async ({ user }) => ({ ...user, score: (user.id * 37) % 100 }),
    aggregate: async ({ users }) => {
      const byCountry = {};
      for (const u of users) byCountry[u.country] = (byCountry[u.country] ?? 0) + 1;
      const mean = users.reduce((s, u) => s + u.score, 0) / users.length;
      return { users: users.length, byCountry, meanScore: Math.round(mean * 10) / 10 };
    },
  },
});
await worker.start();

const pipeline = cv
  .workflow('data-enrichment')
  .step('fetch', 'fetch_users', { input: { count: '{{input.count}}' } })
  .step('enrich', 'enrich_user', {
    map: { over: '{{steps.fetch.output.users}}', concurrency: 5 },
    input: { user: '{{item}}' },
    retry: { maxRetries: 2 },
  })
  .step('stats', 'aggregate', { input: { users: '{{steps.enrich.output}}' } })
  .build();

const run = await cv.startWorkflow(pipeline, { count: 30 });
const result = await cv.waitForWorkflow(run.id);
console.log(result.status, JSON.stringify(result.results.stats));
await cv.close();
