// Where a paced read's slow answers come from. Three open-loop streams at once against the
// bench's stack: reads through the gateway (`--rate`, default 600/s), the gateway's `/healthz`
// (25/s: its main thread's own responsiveness, no backend, no worker) and the orders backend's
// `/health` directly (25/s). Every read slower than `--slow-ms` (10) is put in 100 ms windows,
// and each window is judged by what else was slow in it:
//   - gateway stall: a /healthz probe slow in the window (the main thread, or the whole machine);
//   - backend stall: a direct probe slow in the window (the backend itself was slow to answer);
//   - backend idle: the backend's request log silent for longer than `--slow-ms` (it logs every
//     request it answers) while its direct probe was answered promptly: the backend was ready,
//     the gateway's calls did not reach it (the connector worker, the way to it, or a main-thread
//     pause the /healthz probe fell beside: `loops` below tells these apart);
//   - neither: nothing else seen (Redis, or a stall shorter than the probes' spacing).
// Also the share of the slow reads' time spent inside the gateway's own span (its access log's
// `durationMs`), and both loops' stalls over the run from /metrics: the orders connector worker's
// longest delay per heartbeat interval and its GC time (measured inside it), the main thread's GC
// time. Usage: node bench/tail-probe.ts [--rate=600] [--seconds=45] [--slow-ms=10]
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args } from './lib/args.ts';
import { cpuWindow } from './lib/cpu.ts';
import { percentiles, runPaced, type PacedAnswer } from './lib/load.ts';
import { scrapeCounters } from './lib/probes.ts';
import { startStack } from './lib/stack.ts';

const rate = args.int('rate', 600);
const seconds = args.int('seconds', 45);
const slowMs = args.int('slow-ms', 10);
const PROBE_RATE = 25;
const WINDOW_MS = 100;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The loops' series on /metrics: the orders worker's delays and GC, the main thread's GC. */
const LOOP_SERIES = /^omnigate_(connector_worker_event_loop_delay_seconds_(bucket|count)\{.*connector="orders-java"|connector_worker_gc_seconds_total\{connector="orders-java"|nodejs_gc_duration_seconds_(sum|count)\{)/;
const WORKER_DELAY_LIMITS = ['0.005', '0.01', '0.025', '0.05', '0.1'];

interface Timed { readonly at: number; readonly ms: number; readonly path: string }

/** Wall-clock ms (Date.now()) of each JSON log line's time field, with the line. */
function logTimes(file: string, field: string, keep: (line: Record<string, unknown>) => boolean): { at: number; line: Record<string, unknown> }[] {
  const out: { at: number; line: Record<string, unknown> }[] = [];
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      const line = JSON.parse(text) as Record<string, unknown>;
      if (typeof line[field] === 'string' && keep(line)) out.push({ at: Date.parse(line[field] as string), line });
    } catch {
      // not a JSON line (a stack trace, say)
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

let stop: () => Promise<void> = async () => undefined;
process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
try {
  const stack = await startStack(root, (line) => console.log(line), (s) => (stop = s));
  const headers = { 'x-api-key': stack.apiKey };
  const orders = Array.from({ length: 5_000 }, (_, i) => `/v1/orders/ORD-${String(1 + i).padStart(7, '0')}`);
  console.log('warming up (500/s for 5 s)…');
  await runPaced({ origin: stack.gatewayUrl, headers, paths: orders.slice(0, 2_000) }, { rate: 500, durationS: 5 });
  // performance.now() → wall clock, to meet the logs' timestamps.
  const wallOf = (t: number) => performance.timeOrigin + t;
  const collect = (paths: readonly string[]) => {
    const answers: Timed[] = [];
    return { answers, onAnswer: (a: PacedAnswer) => void answers.push({ at: wallOf(a.sentAt), ms: a.ms, path: paths[a.index % paths.length]! }) };
  };
  const reads = collect(orders);
  const healthz = collect(['/healthz']);
  const direct = collect(['/health']);
  const loopsBefore = await scrapeCounters(stack.gatewayUrl, stack.apiKey, LOOP_SERIES);
  const from = Date.now();
  const cpu = cpuWindow(stack.gatewayPid === undefined ? {} : { gateway: stack.gatewayPid }, availableParallelism());
  console.log(`measuring: reads ${rate}/s, probes ${PROBE_RATE}/s each, for ${seconds} s…`);
  await Promise.all([
    runPaced({ origin: stack.gatewayUrl, headers, paths: orders }, { rate, durationS: seconds, onAnswer: reads.onAnswer }),
    runPaced({ origin: stack.gatewayUrl, headers: {}, paths: ['/healthz'] }, { rate: PROBE_RATE, durationS: seconds, onAnswer: healthz.onAnswer }),
    runPaced({ origin: stack.ordersUrl, headers: {}, paths: ['/health'] }, { rate: PROBE_RATE, durationS: seconds, onAnswer: direct.onAnswer }),
  ]);
  const to = Date.now();
  const used = cpu.end();
  const loopsAfter = await scrapeCounters(stack.gatewayUrl, stack.apiKey, LOOP_SERIES);
  /** How much the series whose names contain `part` grew over the run. */
  const loopDelta = (part: string) => {
    let sum = 0;
    for (const [series, value] of loopsAfter) if (series.includes(part)) sum += value - (loopsBefore.get(series) ?? 0);
    return sum;
  };
  const workerIntervals = loopDelta('_delay_seconds_count');
  const loops = {
    worker: {
      heartbeatIntervals: workerIntervals,
      // How many intervals' longest delay was over each limit (ms).
      intervalsDelayedOverMs: Object.fromEntries(WORKER_DELAY_LIMITS.map((le) => [Number(le) * 1_000, workerIntervals - loopDelta(`_delay_seconds_bucket{le="${le}"`)])),
      gcMsPerS: Number(((loopDelta('worker_gc_seconds_total') * 1_000) / seconds).toFixed(1)),
    },
    main: { gcs: loopDelta('nodejs_gc_duration_seconds_count'), gcMsPerS: Number(((loopDelta('nodejs_gc_duration_seconds_sum') * 1_000) / seconds).toFixed(1)) },
  };

  const windowOf = (t: Timed) => Math.floor((t.at - from) / WINDOW_MS);
  const slowWindows = (answers: Timed[]) => new Set(answers.filter((a) => a.ms > slowMs).map(windowOf));
  const healthzSlow = slowWindows(healthz.answers);
  const directSlow = slowWindows(direct.answers);
  // The backend's silences: no request logged for longer than slowMs while reads kept coming.
  const backendLog = logTimes(join(stack.logDir, 'orders.log'), 'ts', () => true).map((e) => e.at).filter((at) => at >= from && at <= to);
  const backendSilent = new Set<number>();
  for (let i = 1; i < backendLog.length; i++) {
    if (backendLog[i]! - backendLog[i - 1]! <= slowMs) continue;
    for (let w = Math.floor((backendLog[i - 1]! - from) / WINDOW_MS); w <= Math.floor((backendLog[i]! - from) / WINDOW_MS); w++) backendSilent.add(w);
  }
  const slow = reads.answers.filter((a) => a.ms > slowMs);
  const byWindow = new Map<number, Timed[]>();
  for (const a of slow) {
    const w = windowOf(a);
    const inWindow = byWindow.get(w);
    if (inWindow) inWindow.push(a);
    else byWindow.set(w, [a]);
  }
  const verdicts = { gatewayStall: 0, backendStall: 0, backendIdle: 0, neither: 0 };
  const readsBy = { gatewayStall: 0, backendStall: 0, backendIdle: 0, neither: 0 };
  for (const [w, inWindow] of byWindow) {
    // A stall shows in the window of the read it held up or the one before (a read leaves, then waits).
    const near = (windows: Set<number>) => windows.has(w) || windows.has(w - 1);
    const verdict = near(healthzSlow) ? 'gatewayStall' : near(directSlow) ? 'backendStall' : near(backendSilent) ? 'backendIdle' : 'neither';
    verdicts[verdict] += 1;
    readsBy[verdict] += inWindow.length;
  }
  // The gateway's own span for each slow read: its access line for that path, the one ending nearest the answer.
  const access = logTimes(join(stack.logDir, 'gateway.log'), 'time', (l) => l.msg === 'request done');
  const byPath = new Map<string, { at: number; durationMs: number }[]>();
  for (const { at, line } of access) {
    const path = String(line.path);
    const lines = byPath.get(path);
    if (lines) lines.push({ at, durationMs: Number(line.durationMs) });
    else byPath.set(path, [{ at, durationMs: Number(line.durationMs) }]);
  }
  let inside = 0;
  let total = 0;
  for (const a of slow) {
    const lines = byPath.get(a.path) ?? [];
    const end = a.at + a.ms;
    const nearest = lines.reduce<{ at: number; durationMs: number } | undefined>((best, l) => (!best || Math.abs(l.at - end) < Math.abs(best.at - end) ? l : best), undefined);
    if (!nearest || Math.abs(nearest.at - end) > 1_000) continue;
    inside += Math.min(nearest.durationMs, a.ms);
    total += a.ms;
  }
  const tail = (answers: readonly Timed[]) => {
    const { p50, p99 } = percentiles(answers.map((a) => a.ms));
    return { p50, p99 };
  };
  const summary = {
    rate, seconds, slowMs,
    // Judge a run's tail only when others left the machine alone (issue 13: under 10 %).
    notOursCpuPct: used.notOursPct,
    gatewayCpuUsPerRead: Math.round(((used.ms.gateway ?? 0) * 1000) / reads.answers.length),
    reads: { count: reads.answers.length, ...tail(reads.answers), slow: slow.length },
    healthzProbe: { ...tail(healthz.answers), slowWindows: healthzSlow.size },
    directProbe: { ...tail(direct.answers), slowWindows: directSlow.size },
    backendSilentWindows: backendSilent.size,
    slowReadWindows: byWindow.size,
    windowsBy: verdicts,
    slowReadsBy: readsBy,
    slowReadsTimeInsideGatewaySpan: total > 0 ? Number((inside / total).toFixed(2)) : null,
    loops,
  };
  writeFileSync(join(root, '.data/bench-tail-probe.json'), JSON.stringify(summary, null, 2));
  console.log(JSON.stringify(summary, null, 2));
} finally {
  await stop();
}
