// What running each connector in its own worker thread costs per call, against calling the
// same connector in-process, in one run. No network: the operation maps a recorded orders page
// (20 orders) to canonical form, so what differs is only the thread hop (message passing and
// structured clone of params and result).
// Usage: node bench/worker-isolation.ts [calls=20000]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { startTrace } from '../src/kernel/trace.ts';
import { createWorkerHost } from '../src/modules/connectors/host/worker-host.ts';
import type { Connector } from '../src/sdk/types.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const calls = Number(process.argv[2] ?? 20_000);
const dir = join(root, '.data', `bench-worker-${process.pid}`);
mkdirSync(join(dir, 'src'), { recursive: true });
writeFileSync(join(dir, 'src/index.ts'), `import { defineConnector } from 'omnigate/sdk';
import { toOrderPage } from '${pathToFileURL(join(root, 'connectors/orders-java/src/mappers/to-order-page.ts')).href}';
import page from '${pathToFileURL(join(root, 'connectors/orders-java/src/fixtures/customer-orders-page.json')).href}' with { type: 'json' };
const content = Array.from({ length: 10 }, () => page.content).flat();
const raw = { ...page, content, size: content.length };
export default defineConnector({
  manifest: { name: 'bench', version: '1.0.0', system: 'bench', description: 'bench', configSchema: { type: 'object', properties: { baseUrl: { type: 'string' } } },
    capabilities: [{ name: 'order.list', kind: 'query', description: 'x', params: { type: 'object' }, result: 'Page<Order>' }] },
  async auth() { return { authorize() {} }; },
  queries: { 'order.list': async () => toOrderPage(raw, 'Europe/Berlin') },
  async health() { return { ok: true }; },
});
`);
const moduleUrl = pathToFileURL(join(dir, 'src/index.ts')).href;
const log = pino({ level: 'silent' });
const trace = startTrace(undefined, 'bench');
const params = { customerRef: 'C-100042', page: 1, pageSize: 20 };
const signal = new AbortController().signal;

const inProcess = ((await import(moduleUrl)) as { default: Connector }).default;
const ctx = { config: {}, log, signal, trace, http: { request: () => Promise.reject(new Error('no network')) } };
const host = createWorkerHost({ name: 'bench', moduleUrl, log });
await host.load();
await host.auth({ baseUrl: 'http://127.0.0.1:9' });

async function measure(label: string, call: () => Promise<unknown>, concurrency: number) {
  for (let i = 0; i < 2_000; i++) await call(); // warm up
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < calls) await call();
  }));
  const ms = performance.now() - started;
  return { label, concurrency, calls, usPerCall: (ms * 1000) / calls, callsPerSec: Math.round(calls / (ms / 1000)) };
}

const direct = () => inProcess.query('order.list', params, ctx);
const viaWorker = () => host.call({ kind: 'query', capability: 'order.list', params, trace, logBindings: {} }, signal);
const results = [];
for (const concurrency of [1, 32]) {
  const a = await measure('in-process', direct, concurrency);
  const b = await measure('worker thread', viaWorker, concurrency);
  results.push(a, b, { label: 'added per call', concurrency, usPerCall: b.usPerCall - a.usPerCall, ratio: a.callsPerSec / b.callsPerSec });
}
await host.close();
rmSync(dir, { recursive: true, force: true });
console.table(results.map((r) => ({ ...r, usPerCall: Number(r.usPerCall.toFixed(1)) })));
writeFileSync(join(root, '.data', 'bench-worker-isolation.json'), JSON.stringify(results, null, 2));
