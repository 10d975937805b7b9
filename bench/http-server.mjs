// The server side of bench/http.mjs, run as its own process so the load generator does
// not share its event loop: the API over a fresh store with an in-process worker whose
// only handler is `noop`, webhooks allowed to loopback (the receiver is the bench).
// Prints `READY <url>` once listening; exits on SIGTERM.
import { createConveyor } from '../dist/index.js';
import { startServer } from '../dist/server.js';

const env = process.env;
const store = env.BENCH_STORE || 'sqlite';
const cv = await createConveyor(
  store === 'postgres'
    ? { database: env.BENCH_PG_URL, schema: env.BENCH_SCHEMA }
    : { database: env.BENCH_DB },
);
const server = await startServer({
  conveyor: cv,
  env: {},
  workers: Number(env.BENCH_WORKERS || 8),
  announce: () => {},
  config: {
    port: 0,
    rateLimit: { max: 100_000_000, windowMs: 60_000 },
    webhooks: { allowPrivate: false, allowlist: ['127.0.0.1'], secrets: {} },
  },
});
process.stdout.write(`READY ${server.url}\n`);
process.on('SIGTERM', async () => {
  await server.close();
  await cv.close();
  process.exit(0);
});
