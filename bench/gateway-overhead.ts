// `npm run bench`: what the gateway costs in front of the Java orders backend, as ratios against
// the backend called directly in the same run. A benchmark, never a test. See bench/README.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args } from './lib/args.ts';
import { openOrderBreaker, orderBreakerView, ordersBackendRequests, setOrdersFault, type BreakerState } from './lib/breaker.ts';
import { goalsTable, judgeGoals, type Goal } from './lib/goals.ts';
import { runAutocannon, runPaced, type LoadRun, type Target } from './lib/load.ts';
import { cpuDelta, counterDelta, sampleCpu, scrapeCounters } from './lib/probes.ts';
import { contended, cpuTable, non2xx, summarize, summaryText, table, type Row, type Summary } from './lib/report.ts';
import { BENCH_GATEWAY_ENV, JAVA_NODELAY, startStack, type Stack } from './lib/stack.ts';
import { jaegerBinary, startJaeger, type RunningJaeger } from '../scripts/lib/jaeger.ts';

const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const resultsFile = join(rootDir, '.data/bench-results.json');
const say = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

const CONNECTIONS = 32;
const MEASURE_S = 10;
const WARMUP_S = 3;
const STALE_S = 5;

const orderIds = (first: number, count: number) => Array.from({ length: count }, (_, i) => `ORD-${String(first + i).padStart(7, '0')}`);
// Disjoint id sets: the healthy phases fill the stale cache for HOT only, so the fast-fail phases
// (ids never fetched successfully) cannot be answered from it.
const HOT = orderIds(1, 100);
const FAST_FAIL_AUTOCANNON = orderIds(5_001, 100);
const FAST_FAIL_PACED = orderIds(6_001, 100);
const BREAKER_OPENERS = orderIds(9_001, 1_000);
// Customers that do not exist: the one call a second the CRM's limit lets through answers 404,
// so no answer is cached and every other one is the rate-limited refusal.
const UNKNOWN_CUSTOMERS = Array.from({ length: 1_000 }, (_, i) => `bench-missing-${900_001 + i}`);
/** The hop baselines' ports: beside the stack's (27080-27083), clear of everything else it uses. */
const HOP_PORTS = { http: 27086, express: 27087 } as const;
/** The gateway with one process per core, beside the first (27080). */
const PROCESSES_PORT = 27088;
/** The gateway that exports its spans (OTLP/HTTP) to a Jaeger of the bench's own, and that Jaeger's ports. */
const EXPORTING_PORT = 27089;
const JAEGER_PORTS = { otlpPort: 27318, queryPort: 27686, queryGrpcPort: 27685 } as const;
/**
 * `--phases=a,b,c,d,e` (default all): a) always runs, as the others' rate derives from it, so
 * `--phases=a` measures the hop alone (~2.3 min with the exporting gateways).
 */
const PHASES = new Set(args.str('phases', 'a,b,c,d,e').split(',').map((p) => p.trim()));
const hops: ChildProcess[] = [];
let jaeger: RunningJaeger | undefined;

let stack: Stack | undefined;
let stopStack: (() => Promise<void>) | undefined;
let stopping: Promise<void> | undefined;
function shutdown(): Promise<void> {
  stopping ??= (async () => {
    if (stack) await setOrdersFault(stack, 'ok').catch(() => undefined);
    for (const hop of hops) hop.kill('SIGTERM');
    await stopStack?.();
    await jaeger?.stop();
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
  const hopHttp = await startHop('http', HOP_PORTS.http, s.ordersUrl, token);
  const hopExpress = await startHop('express', HOP_PORTS.express, s.ordersUrl, token);
  const hop = (origin: string) => (ids: readonly string[]): Target => ({ origin, headers: {}, paths: ids.map((id) => `/v1/orders/${id}`) });
  const named = new Map<number, string>([[s.gatewayPid ?? -1, 'gateway'], [hopHttp.pid ?? -1, 'hop-http'], [hopExpress.pid ?? -1, 'hop-express']]);
  await expectOk(direct(HOT), 'direct');
  await expectOk(hop(hopHttp.url)(HOT), 'node:http hop');
  await expectOk(hop(hopExpress.url)(HOT), 'express hop');
  await expectOk(gateway(HOT), 'gateway');
  const rows: Row[] = [];
  const measure = async (phase: string, side: string, start: () => Promise<LoadRun>): Promise<Row> => {
    say(`${phase} — ${side}…`);
    const [cpuBefore, countersBefore] = [sampleCpu(named), await scrapeCounters(s.gatewayUrl, s.apiKey)];
    const run = await start();
    const [cpuAfter, countersAfter] = [sampleCpu(named), await scrapeCounters(s.gatewayUrl, s.apiKey)];
    const row = { phase, side, run, cpuMs: cpuDelta(cpuBefore, cpuAfter), counters: counterDelta(countersBefore, countersAfter) };
    rows.push(row);
    return row;
  };
  const closedLoop = (target: Target, overallRate?: number) => () =>
    runAutocannon(target, { connections: CONNECTIONS, durationS: MEASURE_S, ...(overallRate ? { overallRate } : {}) });

  say(`warm-up: ${WARMUP_S} s each side (JIT, token, keep-alive pools)`);
  const warmDirect = await runAutocannon(direct(HOT), { connections: CONNECTIONS, durationS: WARMUP_S });
  const warmHops = [await runAutocannon(hop(hopHttp.url)(HOT), { connections: CONNECTIONS, durationS: WARMUP_S }), await runAutocannon(hop(hopExpress.url)(HOT), { connections: CONNECTIONS, durationS: WARMUP_S })];
  const warmGateway = await runAutocannon(gateway(HOT), { connections: CONNECTIONS, durationS: WARMUP_S });
  const warmNon2xx = [warmDirect, ...warmHops, warmGateway].reduce((n, run) => n + non2xx(run), 0);
  if (warmNon2xx > 0) throw new Error(`non-2xx answers while warming up: direct ${JSON.stringify(warmDirect.statuses)}, hops ${JSON.stringify(warmHops.map((h) => h.statuses))}, gateway ${JSON.stringify(warmGateway.statuses)}`);

  const maxDirect = await measure('a) max throughput', 'direct', closedLoop(direct(HOT)));
  const maxHttpHop = await measure('a) max throughput', 'node:http hop', closedLoop(hop(hopHttp.url)(HOT)));
  const maxExpressHop = await measure('a) max throughput', 'express hop', closedLoop(hop(hopExpress.url)(HOT)));
  const maxGateway = await measure('a) max throughput', 'gateway', closedLoop(gateway(HOT)));
  for (const child of hops.splice(0)) child.kill('SIGTERM');
  // Every core: the same read on a second gateway running one process per core (OMNIGATE_PROCESSES=auto),
  // while the first idles; its CPU counts under "gateway" too.
  say(`a) starting a gateway with one process per core (${machine.cpus}) on ${PROCESSES_PORT}…`);
  const perCoreGateway = await s.startGateway(PROCESSES_PORT, { OMNIGATE_PROCESSES: 'auto' });
  named.set(perCoreGateway.pid ?? -1, 'gateway');
  const perCoreTarget = (ids: readonly string[]): Target => ({ ...gateway(ids), origin: perCoreGateway.url });
  await runAutocannon(perCoreTarget(HOT), { connections: CONNECTIONS, durationS: WARMUP_S });
  const maxPerCore = await measure('a) max throughput', `gateway, ${machine.cpus} processes`, closedLoop(perCoreTarget(HOT)));
  await perCoreGateway.stop();
  named.delete(perCoreGateway.pid ?? -1);
  const processes = { one: maxGateway, perCore: maxPerCore, count: machine.cpus };
  const exporting = await measureExporting(s, named, gateway, (side, target) => measure('a) max throughput', side, closedLoop(target)));
  const hopsMeasured = { http: maxHttpHop, express: maxExpressHop };
  if (!PHASES.has('b')) return report({ rows, machine, began, s, hopsMeasured, maxDirect, maxGateway, processes, exporting });
  if (['b', 'c', 'd', 'e'].some((p) => !PHASES.has(p))) throw new Error(`--phases takes "a" (the hop alone) or all of a,b,c,d,e: b) to e) build on each other`);
  const rate = Math.max(20, Math.round(maxGateway.run.rps / 2 / 10) * 10);
  say(`fixed rate for b) to e): ${rate} req/s (half the gateway's max)`);

  // Gateway before direct: the last 10 s without gateway traffic empty the breaker's rolling
  // window, so that c) opens it with a few dozen failures instead of thousands.
  const overallRate = { direct: await measure('b) fixed rate (overallRate)', 'direct', closedLoop(direct(HOT), rate)), gateway: await measure('b) fixed rate (overallRate)', 'gateway', closedLoop(gateway(HOT), rate)) };
  const pacedGateway = await measure('b) fixed rate (paced)', 'gateway', () => runPaced(gateway(HOT), { rate, durationS: MEASURE_S }));
  const paced = { gateway: pacedGateway, direct: await measure('b) fixed rate (paced)', 'direct', () => runPaced(direct(HOT), { rate, durationS: MEASURE_S })) };

  say('e) the CRM connector\'s rate limit (1 call/s) refusing customers no call has cached…');
  const customers: Target = { origin: s.gatewayUrl, headers: { 'x-api-key': s.apiKey }, paths: UNKNOWN_CUSTOMERS.map((id) => `/v1/customers/${id}`), marker: '"RATE_LIMITED"' };
  const rateLimited = await measure('e) connector rate limit', 'gateway (paced)', () => runPaced(customers, { rate, durationS: MEASURE_S }));

  say('c) orders backend down: opening the breaker on order.get…');
  await setOrdersFault(s, 'down');
  const opening = await openOrderBreaker(s, BREAKER_OPENERS);
  say(`breaker open after ${opening.calls} failing calls in ${opening.ms} ms`);
  const backendBefore = await ordersBackendRequests(s);
  const fastFail = {
    overallRate: await measure('c) breaker open, fresh ids', 'gateway (overallRate)', closedLoop(gateway(FAST_FAIL_AUTOCANNON, '"CIRCUIT_OPEN"'), rate)),
    paced: await measure('c) breaker open, fresh ids', 'gateway (paced)', () => runPaced(gateway(FAST_FAIL_PACED, '"CIRCUIT_OPEN"'), { rate, durationS: MEASURE_S })),
  };
  const staleServed = await measure('d) breaker open, cached ids', 'gateway (paced)', () => runPaced(gateway(HOT, '"stale":true'), { rate, durationS: STALE_S }));
  const backendRequestsWhileOpen = (await ordersBackendRequests(s)) - backendBefore;
  const breakerAfter = await orderBreakerView(s);
  await setOrdersFault(s, 'ok');

  const summary = summarize({ maxDirect, maxGateway, rate, overallRate, paced, fastFail, staleServed });
  const goals = judgeGoals({
    cores: machine.cpus, maxExpressHop, maxGateway, breakerOpen: fastFail.paced, rateLimited, processes,
    paced: { ...paced, staleAnswers: summary.fixedRate.paced.staleAnswers },
  });
  return report({ rows, machine, began, s, hopsMeasured, maxDirect, maxGateway, processes, exporting, goals, full: { summary, opening, backendRequestsWhileOpen, breakerAfter } });
}

interface ReportInputs {
  readonly rows: readonly Row[];
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string };
  readonly began: number;
  readonly s: Stack;
  readonly hopsMeasured: { readonly http: Row; readonly express: Row };
  readonly maxDirect: Row;
  readonly maxGateway: Row;
  /** a) with one gateway process and with one per core. */
  readonly processes: { readonly one: Row; readonly perCore: Row; readonly count: number };
  /** a) with spans exported to Jaeger, and what reached it; undefined when Jaeger is not installed. */
  readonly exporting: Exporting | undefined;
  readonly goals?: readonly Goal[];
  /** Everything past a) (absent with `--phases=a`). */
  readonly full?: { summary: Summary; opening: unknown; backendRequestsWhileOpen: number; breakerAfter: BreakerState | undefined };
}

/** Prints the tables, the ratios and the goals; writes every number to .data/bench-results.json. */
function report(r: ReportInputs): void {
  const { rows, machine, s, hopsMeasured: hop, maxDirect, maxGateway, full } = r;
  const goals = r.goals ?? judgeGoals({ cores: machine.cpus, maxExpressHop: hop.express, maxGateway, processes: r.processes });
  const totalS = Math.round((Date.now() - r.began) / 1000);
  const out = (text: string) => void process.stdout.write(text);
  const ratio = (a: Row, b: Row) => (a.run.rps / b.run.rps).toFixed(3);
  out(`\nOmnigate gateway overhead — GET one order (orders-java), ${HOT.length} ids rotating; ${machine.cpus} CPUs (${machine.cpuModel}), node ${machine.node}; orders backend TCP_NODELAY ${JAVA_NODELAY ? 'on' : 'off (as shipped)'}; gateway LOG_LEVEL=${BENCH_GATEWAY_ENV.LOG_LEVEL}; whole run ${totalS} s\n\n`);
  out(`${table(rows)}\n\nCPU per answered request, by process (µs), and the gateway's own counters:\n\n${cpuTable(rows, machine.cpus)}\n\n`);
  out(`a) max throughput, as a share of direct: node:http hop ${ratio(hop.http, maxDirect)}, express hop ${ratio(hop.express, maxDirect)}, gateway ${ratio(maxGateway, maxDirect)}\n`);
  out(`   gateway / express hop: ${ratio(maxGateway, hop.express)}; gateway / node:http hop: ${ratio(maxGateway, hop.http)}\n`);
  out(`   gateway with ${r.processes.count} processes / with 1: ${ratio(r.processes.perCore, r.processes.one)} (${Math.round(r.processes.perCore.run.rps)} vs ${Math.round(r.processes.one.run.rps)} req/s)\n`);
  const e = r.exporting;
  out(e
    ? `   gateway exporting spans / not exporting: every trace ${ratio(e.every, maxGateway)}, one in ten ${ratio(e.tenth, maxGateway)}, every trace without the http, express and ioredis instrumentations ${ratio(e.lean, maxGateway)} (${[e.every, e.tenth, e.lean].map((row) => Math.round(row.run.rps)).join(', ')} vs ${Math.round(maxGateway.run.rps)} req/s); Jaeger got spans of ${e.services.join(', ') || 'no service'}\n`
    : `   gateway exporting spans: not measured (Jaeger is not installed: bash scripts/install.sh)\n`);
  if (full) out(summaryText(full.summary, { backendRequestsWhileOpen: full.backendRequestsWhileOpen, breakerAfter: full.breakerAfter?.state ?? 'unknown' }));
  out(`\nIssue 13's goals, judged on this run:\n\n${goalsTable(goals)}\n`);
  const noisy = contended(rows, machine.cpus);
  if (noisy.length > 0) out(`\nNote: other processes used over 10% of the machine during ${noisy.length} of ${rows.length} phases (${noisy.join('; ')}): expect noisier numbers.\n`);
  writeFileSync(resultsFile, `${JSON.stringify({
    finishedAt: new Date().toISOString(), totalS, machine, phasesRun: full ? 'a-e' : 'a',
    settings: { connections: CONNECTIONS, measureS: MEASURE_S, warmupS: WARMUP_S, staleS: STALE_S, ids: HOT.length, gatewayEnv: BENCH_GATEWAY_ENV, javaNodelay: JAVA_NODELAY },
    hops: { http: hop.http.run.rps, express: hop.express.run.rps }, goals,
    ...(e ? { exporting: { ...Object.fromEntries((['every', 'tenth', 'lean'] as const).map((k) => [k, { rps: e[k].run.rps, vsNotExporting: e[k].run.rps / maxGateway.run.rps, vsExpressHop: e[k].run.rps / hop.express.run.rps }])), jaegerServices: e.services } } : {}),
    ...(full ? { summary: full.summary, breaker: { opening: full.opening, backendRequestsWhileOpen: full.backendRequestsWhileOpen, after: full.breakerAfter } } : {}),
    contendedPhases: noisy,
    phases: rows,
  }, null, 2)}\n`);
  say(`raw numbers in ${resultsFile}; logs in ${s.logDir}/`);
}

interface Exporting {
  /** Every trace sampled (the default sampler). */
  readonly every: Row;
  /** `OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.1`. */
  readonly tenth: Row;
  /** Every trace, `OTEL_NODE_DISABLED_INSTRUMENTATIONS=http,express,ioredis`. */
  readonly lean: Row;
  /** The services Jaeger has spans of afterwards: the proof that spans were exported. */
  readonly services: readonly string[];
}

/**
 * a) three times more, on gateways that export their spans over OTLP/HTTP (to a Jaeger on
 * loopback, as the demo runs it): what recording and sending every span costs, one trace in ten,
 * and every trace without the instrumentations that only add spans, against the gateway as
 * configured by default (no endpoint, spans carry only their context). As shipped
 * otherwise: `OTEL_BSP_SCHEDULE_DELAY` at its default. Jaeger's CPU is reported as its own column.
 */
async function measureExporting(s: Stack, named: Map<number, string>, gateway: (ids: readonly string[]) => Target, measure: (side: string, target: Target) => Promise<Row>): Promise<Exporting | undefined> {
  if (!existsSync(jaegerBinary())) {
    say('a) gateway exporting spans: skipped, Jaeger is not installed (bash scripts/install.sh)');
    return undefined;
  }
  say(`a) starting Jaeger (OTLP :${JAEGER_PORTS.otlpPort}) and a gateway that exports its spans to it on ${EXPORTING_PORT}…`);
  jaeger = await startJaeger({ ...JAEGER_PORTS, dir: join(rootDir, '.data/bench-jaeger') });
  const otlp = jaeger.otlpUrl;
  const measureOne = async (side: string, env: Record<string, string>): Promise<Row> => {
    const exportingGateway = await s.startGateway(EXPORTING_PORT, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp, ...env });
    named.set(exportingGateway.pid ?? -1, 'gateway');
    const target = (ids: readonly string[]): Target => ({ ...gateway(ids), origin: exportingGateway.url });
    await runAutocannon(target(HOT), { connections: CONNECTIONS, durationS: WARMUP_S });
    const row = await measure(side, target(HOT));
    await exportingGateway.stop();
    named.delete(exportingGateway.pid ?? -1);
    return row;
  };
  // Each under a service name of its own, so that Jaeger's services show that both exported.
  const every = await measureOne('gateway, exporting', { OTEL_SERVICE_NAME: 'bench-gateway-every-trace' });
  const tenth = await measureOne('gw, exporting 1 in 10', { OTEL_SERVICE_NAME: 'bench-gateway-one-in-ten', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' });
  const lean = await measureOne('gw, exporting, lean', { OTEL_SERVICE_NAME: 'bench-gateway-lean', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,express,ioredis' });
  const listed = await fetch(`${jaeger.queryUrl}/api/services`).then((reply) => reply.json() as Promise<{ data?: string[] }>);
  await jaeger.stop();
  jaeger = undefined;
  return { every, tenth, lean, services: [...(listed.data ?? [])].sort() };
}

/** A hop baseline (bench/lib/hop-server.ts) as its own process, once it listens. */
async function startHop(kind: 'http' | 'express', port: number, backend: string, token: string): Promise<{ url: string; pid: number | undefined }> {
  const child = spawn(process.execPath, [join(rootDir, 'bench/lib/hop-server.ts'), kind, String(port), backend], { env: { ...process.env, BENCH_HOP_TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] });
  hops.push(child);
  const [line] = (await Promise.race([once(child.stdout!, 'data'), once(child, 'exit').then(() => [Buffer.from('exited')])])) as Buffer[];
  if (!String(line).startsWith('ready')) throw new Error(`the ${kind} hop did not start on ${port}: ${String(line)}`);
  return { url: `http://127.0.0.1:${port}`, pid: child.pid };
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
