// `npm run bench`: what the gateway costs in front of the Java orders backend, as ratios against
// the backend called directly in the same run. A benchmark, never a test. See bench/README.md.
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAutocannon, runPaced, type LoadRun, type Target } from './lib/load.ts';
import { cpuDelta, counterDelta, sampleCpu, scrapeCounters } from './lib/probes.ts';
import { contended, cpuTable, non2xx, summarize, summaryText, table, type Row } from './lib/report.ts';
import { BENCH_GATEWAY_ENV, JAVA_NODELAY, startStack, type Stack } from './lib/stack.ts';

const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const resultsFile = join(rootDir, '.data/bench-results.json');
const say = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

const CONNECTIONS = 32;
const MEASURE_S = 10;
const WARMUP_S = 3;
const STALE_S = 5;
const BREAKER_OPEN_TIMEOUT_MS = 10_000;

const orderIds = (first: number, count: number) => Array.from({ length: count }, (_, i) => `ORD-${String(first + i).padStart(7, '0')}`);
// Disjoint id sets: the healthy phases fill the stale cache for HOT only, so the fast-fail phases
// (ids never fetched successfully) cannot be answered from it.
const HOT = orderIds(1, 100);
const FAST_FAIL_AUTOCANNON = orderIds(5_001, 100);
const FAST_FAIL_PACED = orderIds(6_001, 100);
const BREAKER_OPENERS = orderIds(9_001, 1_000);

let stack: Stack | undefined;
let stopStack: (() => Promise<void>) | undefined;
let stopping: Promise<void> | undefined;
function shutdown(): Promise<void> {
  stopping ??= (async () => {
    if (stack) await setFault(stack, 'ok').catch(() => undefined);
    await stopStack?.();
  })();
  return stopping;
}
let signalled = false;
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    signalled = true;
    say(`${signal}: stopping everything…`);
    void shutdown().finally(() => process.exit(code));
  });
}

try {
  await main();
} catch (err) {
  if (!signalled) say(`failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await shutdown();
}

async function main(): Promise<void> {
  const began = Date.now();
  const machine = { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}`, loadavgAtStart: loadavg() };
  stack = await startStack(rootDir, say, (stop) => (stopStack = stop));
  const s = stack;
  const token = await ordersToken(s.ordersUrl);
  const direct = (ids: readonly string[]): Target => ({ origin: s.ordersUrl, headers: { authorization: `Bearer ${token}` }, paths: ids.map((id) => `/api/orders/${id}`) });
  const gateway = (ids: readonly string[], marker?: string): Target => ({
    origin: s.gatewayUrl, headers: { 'x-api-key': s.apiKey }, paths: ids.map((id) => `/v1/orders/${id}`), ...(marker ? { marker } : {}),
  });
  await expectOk(direct(HOT), 'direct');
  await expectOk(gateway(HOT), 'gateway');
  const rows: Row[] = [];
  const measure = async (phase: string, side: string, start: () => Promise<LoadRun>): Promise<Row> => {
    say(`${phase} — ${side}…`);
    const [cpuBefore, countersBefore] = [sampleCpu(s.gatewayPid), await scrapeCounters(s.gatewayUrl, s.apiKey)];
    const run = await start();
    const [cpuAfter, countersAfter] = [sampleCpu(s.gatewayPid), await scrapeCounters(s.gatewayUrl, s.apiKey)];
    const row = { phase, side, run, cpuMs: cpuDelta(cpuBefore, cpuAfter), counters: counterDelta(countersBefore, countersAfter) };
    rows.push(row);
    return row;
  };
  const closedLoop = (target: Target, overallRate?: number) => () =>
    runAutocannon(target, { connections: CONNECTIONS, durationS: MEASURE_S, ...(overallRate ? { overallRate } : {}) });

  say(`warm-up: ${WARMUP_S} s each side (JIT, token, keep-alive pools)`);
  const warmDirect = await runAutocannon(direct(HOT), { connections: CONNECTIONS, durationS: WARMUP_S });
  const warmGateway = await runAutocannon(gateway(HOT), { connections: CONNECTIONS, durationS: WARMUP_S });
  if (non2xx(warmDirect) + non2xx(warmGateway) > 0) throw new Error(`non-2xx answers while warming up: direct ${JSON.stringify(warmDirect.statuses)}, gateway ${JSON.stringify(warmGateway.statuses)}`);

  const maxDirect = await measure('a) max throughput', 'direct', closedLoop(direct(HOT)));
  const maxGateway = await measure('a) max throughput', 'gateway', closedLoop(gateway(HOT)));
  const rate = Math.max(20, Math.round(maxGateway.run.rps / 2 / 10) * 10);
  say(`fixed rate for b), c) and d): ${rate} req/s (half the gateway's max)`);

  // Gateway before direct: the last 10 s without gateway traffic empty the breaker's rolling
  // window, so that c) opens it with a few dozen failures instead of thousands.
  const overallRate = { direct: await measure('b) fixed rate (overallRate)', 'direct', closedLoop(direct(HOT), rate)), gateway: await measure('b) fixed rate (overallRate)', 'gateway', closedLoop(gateway(HOT), rate)) };
  const pacedGateway = await measure('b) fixed rate (paced)', 'gateway', () => runPaced(gateway(HOT), { rate, durationS: MEASURE_S }));
  const paced = { gateway: pacedGateway, direct: await measure('b) fixed rate (paced)', 'direct', () => runPaced(direct(HOT), { rate, durationS: MEASURE_S })) };

  say('c) orders backend down: opening the breaker on order.get…');
  await setFault(s, 'down');
  const opening = await openBreaker(s);
  say(`breaker open after ${opening.calls} failing calls in ${opening.ms} ms`);
  const backendBefore = await backendRequests(s);
  const fastFail = {
    overallRate: await measure('c) breaker open, fresh ids', 'gateway (overallRate)', closedLoop(gateway(FAST_FAIL_AUTOCANNON, '"CIRCUIT_OPEN"'), rate)),
    paced: await measure('c) breaker open, fresh ids', 'gateway (paced)', () => runPaced(gateway(FAST_FAIL_PACED, '"CIRCUIT_OPEN"'), { rate, durationS: MEASURE_S })),
  };
  const staleServed = await measure('d) breaker open, cached ids', 'gateway (paced)', () => runPaced(gateway(HOT, '"stale":true'), { rate, durationS: STALE_S }));
  const backendRequestsWhileOpen = (await backendRequests(s)) - backendBefore;
  const breakerAfter = await breakerView(s);
  await setFault(s, 'ok');

  const summary = summarize({ maxDirect, maxGateway, rate, overallRate, paced, fastFail, staleServed });
  const totalS = Math.round((Date.now() - began) / 1000);
  const out = (text: string) => void process.stdout.write(text);
  out(`\nOmnigate gateway overhead — GET one order (orders-java), ${HOT.length} ids rotating; ${machine.cpus} CPUs (${machine.cpuModel}), node ${machine.node}; orders backend TCP_NODELAY ${JAVA_NODELAY ? 'on' : 'off (as shipped)'}; whole run ${totalS} s\n\n`);
  out(`${table(rows)}\n\nCPU per answered request, by process (µs), and the gateway's own counters:\n\n${cpuTable(rows, machine.cpus)}\n\n`);
  out(summaryText(summary, { backendRequestsWhileOpen, breakerAfter: breakerAfter?.state ?? 'unknown' }));
  const noisy = contended(rows, machine.cpus);
  if (noisy.length > 0) out(`\nNote: other processes used over 10% of the machine during ${noisy.length} of ${rows.length} phases (${noisy.join('; ')}): expect noisier numbers.\n`);
  writeFileSync(resultsFile, `${JSON.stringify({
    finishedAt: new Date().toISOString(), totalS, machine,
    settings: { connections: CONNECTIONS, measureS: MEASURE_S, warmupS: WARMUP_S, staleS: STALE_S, ids: HOT.length, gatewayEnv: BENCH_GATEWAY_ENV, javaNodelay: JAVA_NODELAY },
    summary, breaker: { opening, backendRequestsWhileOpen, after: breakerAfter }, contendedPhases: noisy,
    warmup: { direct: warmDirect, gateway: warmGateway },
    phases: rows,
  }, null, 2)}\n`);
  say(`raw numbers in ${resultsFile}; logs in ${s.logDir}/`);
}

async function ordersToken(ordersUrl: string): Promise<string> {
  const reply = await fetch(`${ordersUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'omnigate', client_secret: 'orders-dev-secret' }).toString(),
  });
  const body = (await reply.json()) as { access_token?: string };
  if (!reply.ok || !body.access_token) throw new Error(`POST /oauth/token answered ${reply.status}`);
  return body.access_token;
}

async function expectOk(target: Target, side: string): Promise<void> {
  const reply = await fetch(`${target.origin}${target.paths[0]}`, { headers: target.headers });
  if (reply.status !== 200) throw new Error(`${side} GET ${target.paths[0]} answered ${reply.status}: ${(await reply.text()).slice(0, 300)}`);
}

async function setFault(s: Stack, mode: 'ok' | 'down'): Promise<void> {
  const reply = await fetch(`${s.ordersUrl}/_admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode }) });
  if (!reply.ok) throw new Error(`POST /_admin/faults ${mode} answered ${reply.status}`);
}

async function backendRequests(s: Stack): Promise<number> {
  return ((await (await fetch(`${s.ordersUrl}/_admin/stats`)).json()) as { requests: number }).requests;
}

interface BreakerState {
  state: string;
  stats: Record<string, number>;
}

async function breakerView(s: Stack): Promise<BreakerState | undefined> {
  const reply = await fetch(`${s.gatewayUrl}/v1/connectors`, { headers: { 'x-api-key': s.apiKey } });
  const body = (await reply.json()) as { connectors: { name: string; breakers?: (BreakerState & { capability: string })[] }[] };
  const breaker = body.connectors.find((c) => c.name === 'orders-java')?.breakers?.find((b) => b.capability === 'order.get');
  return breaker && { state: breaker.state, stats: breaker.stats };
}

/** Fires failing calls (fresh ids, 32 at a time) until /v1/connectors shows order.get open. */
async function openBreaker(s: Stack): Promise<{ calls: number; ms: number; statuses: Record<string, number> }> {
  const started = Date.now();
  const statuses: Record<string, number> = {};
  let next = 0;
  while (Date.now() - started < BREAKER_OPEN_TIMEOUT_MS) {
    if ((await breakerView(s))?.state === 'open') return { calls: next, ms: Date.now() - started, statuses };
    const batch = BREAKER_OPENERS.slice(next % BREAKER_OPENERS.length, (next % BREAKER_OPENERS.length) + 32);
    next += batch.length;
    await Promise.all(
      batch.map(async (id) => {
        const reply = await fetch(`${s.gatewayUrl}/v1/orders/${id}`, { headers: { 'x-api-key': s.apiKey } });
        await reply.arrayBuffer();
        statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
      }),
    );
  }
  throw new Error(`the breaker on orders-java order.get did not open within ${BREAKER_OPEN_TIMEOUT_MS} ms: ${JSON.stringify(await breakerView(s))}`);
}
