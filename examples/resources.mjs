import { createServer } from 'node:http';
import { createConveyor, createHttpClient, createMemoryCache, createSqliteDatabase } from 'conveyor';

// A stand-in for a remote API: answers the temperature of a city, and counts the calls.
let apiCalls = 0;
const api = createServer((req, res) => {
  apiCalls++;
  const city = new URL(req.url, 'http://x').searchParams.get('city');
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ city, celsius: city.length * 3 }));
});
await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve));
const baseUrl = `http://127.0.0.1:${api.address().port}`;

// Each factory runs once, on the first ctx.resources.get of its name; cv.close() closes
// what was created (the SQLite file handle here; a Redis cache would quit its connection).
const cv = await createConveyor({
  database: ':memory:',
  resources: {
    cache: () => createMemoryCache({ maxEntries: 1000 }),
    http: () => createHttpClient({ baseUrl, timeoutMs: 5000 }),
    db: () => {
      const db = createSqliteDatabase({ filename: ':memory:' });
      db.exec('CREATE TABLE readings (city TEXT, celsius REAL)');
      return db;
    },
  },
});

const worker = cv.worker({
  concurrency: 4,
  handlers: {
    'record-weather': async ({ city }, ctx) => {
      const cache = await ctx.resources.get('cache');
      const http = await ctx.resources.get('http');
      const db = await ctx.resources.get('db');
      // One API call per city for ten minutes, however many items ask at once.
      const weather = await cache.getOrSet(`weather:${city}`, 600_000, async () => {
        const res = await http.get('/weather', { query: { city }, signal: ctx.signal });
        return res.body;
      });
      db.prepare('INSERT INTO readings VALUES (?, ?)').run(city, weather.celsius);
      return weather;
    },
  },
});
await worker.start();

const cities = ['Oslo', 'Lima', 'Nairobi'];
await cv.enqueueWorkItems(
  cities.flatMap((city) => [1, 2, 3].map(() => ({ type: 'record-weather', payload: { city } }))),
);
while ((await cv.getCounts()).completed < 9) await new Promise((r) => setTimeout(r, 10));

const db = await cv.resources.get('db');
console.log(`9 items, ${apiCalls} API calls`);
console.log(db.prepare('SELECT city, count(*) AS n FROM readings GROUP BY city ORDER BY city').all());
await cv.close(); // stops the worker, then closes cache, http client and database
console.log(`database open after close: ${db.open}`);
api.close();
