// One kind of request at a steady rate against the bench's stack, and what each costs the
// gateway: CPU µs per request by thread (main thread, V8's GC helpers, libuv's pool, the
// connector workers) from /proc, with the latency. The measure behind bench/README.md's
// "what each change bought" tables: one load, no phases, so that a change's effect is not
// lost among others.
// Usage: node bench/paced-cpu.ts [--mode=read|breaker-open|rate-limited] [--rate=800] [--seconds=20]
//   BENCH_PROFILE=1 also writes the gateway's CPU profiles (.data/bench-profile/);
//   BENCH_GATEWAY_NODE_FLAGS='--trace-gc' passes flags to the gateway's node (its log: .data/bench-logs/gateway.log).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args } from './lib/args.ts';
import { openOrderBreaker, setOrdersFault } from './lib/breaker.ts';
import { cpuMsOf, threadCpuMsOf } from './lib/cpu.ts';
import { runPaced } from './lib/load.ts';
import { startStack } from './lib/stack.ts';

const MODES = ['read', 'breaker-open', 'rate-limited'] as const;
type Mode = (typeof MODES)[number];
const mode = args.str('mode', 'read') as Mode;
if (!MODES.includes(mode)) throw new Error(`--mode must be one of ${MODES.join(', ')}`);
const rate = args.int('rate', 800);
const seconds = args.int('seconds', 20);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const orderIds = (from: number, n: number) => Array.from({ length: n }, (_, i) => `ORD-${String(from + i).padStart(7, '0')}`);
const orders = (from: number, n: number) => orderIds(from, n).map((id) => `/v1/orders/${id}`);

let stop: () => Promise<void> = async () => undefined;
process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
try {
  const stack = await startStack(root, (line) => console.log(line), (s) => (stop = s));
  const pid = stack.gatewayPid;
  if (pid === undefined) throw new Error('no gateway process');
  const headers = { 'x-api-key': stack.apiKey };
  console.log('warming up (healthy reads, 500/s for 5 s)…');
  await runPaced({ origin: stack.gatewayUrl, headers, paths: orders(1, 2_000) }, { rate: 500, durationS: 5 });
  if (mode === 'breaker-open') {
    await setOrdersFault(stack, 'down');
    await openOrderBreaker(stack, orderIds(6_000, 1_000));
  }
  // Fresh ids when the breaker is open (no stale answer to serve); CRM customers past its 1 call/s when rate-limited.
  const paths = mode === 'breaker-open' ? orders(20_000, 5_000) : mode === 'rate-limited' ? Array.from({ length: 500 }, (_, i) => `/v1/customers/${9_000 + i}`) : orders(1, 5_000);
  await runPaced({ origin: stack.gatewayUrl, headers, paths }, { rate, durationS: 3 });
  const threads0 = threadCpuMsOf(pid);
  const cpu0 = cpuMsOf(pid);
  console.log(`measuring: ${mode}, ${rate}/s for ${seconds} s…`);
  const run = await runPaced({ origin: stack.gatewayUrl, headers, paths }, { rate, durationS: seconds });
  const cpuMs = cpuMsOf(pid) - cpu0;
  const requests = rate * seconds;
  const perThread = Object.fromEntries([...threadCpuMsOf(pid)].map(([name, ms]) => [name, Math.round(((ms - (threads0.get(name) ?? 0)) * 1000) / requests)]).filter(([, us]) => (us as number) > 0));
  console.log(JSON.stringify({ mode, rate, seconds, statuses: run.statuses, latencyMs: run.latency, gatewayCpuUsPerRequest: Math.round((cpuMs * 1000) / requests), byThread: perThread }));
} finally {
  await stop();
}
