import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { startServer } from 'conveyor/server';

// The API on a free loopback port, with an in-process worker for one task type.
const server = await startServer({
  database: ':memory:',
  config: { port: 0, webhooks: { allowPrivate: false, allowlist: ['127.0.0.1'], secrets: {} } },
  handlers: { greet: (payload) => ({ greeting: `hello, ${payload.name}` }) },
  announce: () => {},
});
const api = async (method, path, body) => {
  const res = await fetch(server.url + path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.json();
};

// A receiver that checks each webhook's signature with the tenant's secret.
const { secret } = await api('GET', '/api/webhooks/secret');
let delivered;
const webhook = new Promise((resolve) => (delivered = resolve));
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    delivered(new Webhook(secret).verify(body, req.headers)); // throws if forged
    res.writeHead(204).end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

const task = await api('POST', '/api/tasks', {
  type: 'greet',
  payload: { name: 'Ada' },
  webhook_url: hookUrl,
});
const event = await webhook;
console.log(event.type, event.data.result);

// A workflow built step by step, then started and read back.
const wf = await api('POST', '/api/workflows', { name: 'onboarding' });
await api('POST', `/api/workflows/${wf.id}/phases`, { phase_id: 'welcome', name: 'Welcome' });
await api('POST', `/api/workflows/${wf.id}/tasks`, {
  phase_id: 'welcome',
  name: 'Greet',
  type: 'greet',
  payload: { name: 'Lin' },
});
await api('POST', `/api/workflows/${wf.id}/start`);
let status = await api('GET', `/api/workflows/${wf.id}/status`);
while (status.status === 'running') {
  await new Promise((r) => setTimeout(r, 20));
  status = await api('GET', `/api/workflows/${wf.id}/status`);
}
console.log(status.status, status.results);
console.log('receipts valid:', (await api('GET', `/api/tasks/${task.id}/receipts`)).valid);
receiver.close();
await server.close();
