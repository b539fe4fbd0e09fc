// One kind of request at a steady rate against the bench's stack, and what each costs the
// gateway: CPU µs per request by thread (main thread, V8's GC helpers, libuv's pool, the
// connector workers) from /proc, with the latency. The measure behind bench/README.md's
// "what each change bought" tables: one load, no phases, so that a change's effect is not
// lost among others.
// Usage: node bench/paced-cpu.ts [--mode=read|breaker-open|rate-limited] [--rate=800] [--seconds=20]
//   BENCH_PROFILE=1 also writes the gateway's CPU profiles (.data/bench-profile/);
//   BENCH_GATEWAY_NODE_FLAGS='--trace-gc' passes flags to the gateway's node (its log: .data/bench-logs/gateway.log).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args } from './lib/args.ts';
import { cpuMsOf } from './lib/cpu.ts';
import { runPaced } from './lib/load.ts';
import { startStack, type Stack } from './lib/stack.ts';

const MODES = ['read', 'breaker-open', 'rate-limited'] as const;
type Mode = (typeof MODES)[number];
const mode = args.str('mode', 'read') as Mode;
if (!MODES.includes(mode)) throw new Error(`--mode must be one of ${MODES.join(', ')}`);
const rate = args.int('rate', 800);
const seconds = args.int('seconds', 20);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const orders = (from: number, n: number) => Array.from({ length: n }, (_, i) => `/v1/orders/ORD-${String(from + i).padStart(7, '0')}`);

/** CPU ms by thread name (threads of one name summed: V8's helpers, the connector workers). */
function threadsMs(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // a thread gone meanwhile
    }
  }
  return byName;
}

/** Reads until the orders breaker is open (the backend is down; the cluster's count is shared within a second or so). */
async function openBreaker(stack: Stack, headers: Record<string, string>): Promise<void> {
  await fetch(`${stack.ordersUrl}/_admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'down' }) });
  const started = Date.now();
  for (let round = 0; Date.now() - started < 30_000; round++) {
    await Promise.all(orders(6_000 + (round % 400) * 32, 32).map((p) => fetch(`${stack.gatewayUrl}${p}`, { headers }).then((r) => r.arrayBuffer())));
    const view = (await (await fetch(`${stack.gatewayUrl}/v1/connectors`, { headers })).json()) as { connectors: { name: string; breakers?: { capability: string; state: string }[] }[] };
    if (view.connectors.find((c) => c.name === 'orders-java')?.breakers?.find((b) => b.capability === 'order.get')?.state === 'open') return;
  }
  throw new Error('the orders breaker did not open within 30 s');
}

let stop: () => Promise<void> = async () => undefined;
process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
try {
  const stack = await startStack(root, (line) => console.log(line), (s) => (stop = s));
  const pid = stack.gatewayPid;
  if (pid === undefined) throw new Error('no gateway process');
  const headers = { 'x-api-key': stack.apiKey };
  console.log('warming up (healthy reads, 500/s for 5 s)…');
  await runPaced({ origin: stack.gatewayUrl, headers, paths: orders(1, 2_000) }, { rate: 500, durationS: 5 });
  if (mode === 'breaker-open') await openBreaker(stack, headers);
  // Fresh ids when the breaker is open (no stale answer to serve); CRM customers past its 1 call/s when rate-limited.
  const paths = mode === 'breaker-open' ? orders(20_000, 5_000) : mode === 'rate-limited' ? Array.from({ length: 500 }, (_, i) => `/v1/customers/${9_000 + i}`) : orders(1, 5_000);
  await runPaced({ origin: stack.gatewayUrl, headers, paths }, { rate, durationS: 3 });
  const threads0 = threadsMs(pid);
  const cpu0 = cpuMsOf(pid);
  console.log(`measuring: ${mode}, ${rate}/s for ${seconds} s…`);
  const run = await runPaced({ origin: stack.gatewayUrl, headers, paths }, { rate, durationS: seconds });
  const cpuMs = cpuMsOf(pid) - cpu0;
  const requests = rate * seconds;
  const perThread = Object.fromEntries([...threadsMs(pid)].map(([name, ms]) => [name, Math.round(((ms - (threads0.get(name) ?? 0)) * 1000) / requests)]).filter(([, us]) => (us as number) > 0));
  console.log(JSON.stringify({ mode, rate, seconds, statuses: run.statuses, latencyMs: run.latency, gatewayCpuUsPerRequest: Math.round((cpuMs * 1000) / requests), byThread: perThread }));
} finally {
  await stop();
}
