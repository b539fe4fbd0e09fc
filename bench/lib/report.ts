// The console table and the few derived numbers (ratios, added latency).
import type { LoadRun } from './load.ts';

export interface Row {
  readonly phase: string;
  readonly side: string;
  readonly run: LoadRun;
  /** CPU ms per process during the phase. */
  readonly cpuMs: Record<string, number>;
  /** The gateway's counters that moved during the phase. */
  readonly counters: Record<string, number>;
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

export function table(rows: readonly Row[]): string {
  const head = `${pad('phase', 34)}${pad('side', 22)}${pad('tool', 11)}${lpad('conns', 6)}${lpad('rate', 7)}${lpad('req/s', 9)}${lpad('p50 ms', 9)}${lpad('p90 ms', 9)}${lpad('p99 ms', 9)}${lpad('max ms', 9)}  statuses`;
  const lines = rows.map(({ phase, side, run }) => {
    const statuses = Object.entries(run.statuses).map(([code, n]) => `${code}:${n}`).join(' ') + (run.errors ? ` err:${run.errors}` : '');
    return `${pad(phase, 34)}${pad(side, 22)}${pad(run.tool, 11)}${lpad(run.connections === undefined ? '-' : String(run.connections), 6)}${lpad(run.targetRate === undefined ? '-' : String(run.targetRate), 7)}${lpad(run.rps.toFixed(0), 9)}${lpad(ms(run.latency.p50), 9)}${lpad(ms(run.latency.p90), 9)}${lpad(ms(run.latency.p99), 9)}${lpad(ms(run.latency.max), 9)}  ${statuses}`;
  });
  return [head, '-'.repeat(head.length), ...lines].join('\n');
}

/** Requests that did not get a 2xx (failed connections included). */
export function non2xx(run: LoadRun): number {
  return Object.entries(run.statuses).reduce((n, [code, count]) => (code.startsWith('2') ? n : n + count), 0) + run.errors;
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;
const round = (v: number): number => Math.round(v * 100) / 100;
const latencyOf = (run: LoadRun) => ({ p50Ms: round(run.latency.p50), p99Ms: round(run.latency.p99), rps: Math.round(run.rps) });
const addedMs = (gateway: LoadRun, direct: LoadRun) => ({ p50: round(gateway.latency.p50 - direct.latency.p50), p99: round(gateway.latency.p99 - direct.latency.p99) });
const timesOf = (run: LoadRun, base: LoadRun) => ({ p50: ratio(run.latency.p50, base.latency.p50), p99: ratio(run.latency.p99, base.latency.p99) });

/** The measurements the ratios are made of, by phase. */
export interface Measured {
  readonly maxDirect: Row;
  readonly maxGateway: Row;
  readonly rate: number;
  readonly overallRate: { readonly direct: Row; readonly gateway: Row };
  readonly paced: { readonly direct: Row; readonly gateway: Row };
  readonly fastFail: { readonly overallRate: Row; readonly paced: Row };
  readonly staleServed: Row;
}

/** The headline numbers: ratios and differences against the direct baseline of the same run. */
export function summarize(m: Measured) {
  const againstHealthy = (row: Row, direct: Row, gateway: Row) => ({
    ...latencyOf(row.run),
    timesDirectHealthy: timesOf(row.run, direct.run),
    timesGatewayHealthy: timesOf(row.run, gateway.run),
    answers: row.run.completed,
    non2xx: non2xx(row.run),
  });
  const fastFail = (row: Row, direct: Row, gateway: Row) => ({ ...againstHealthy(row, direct, gateway), circuitOpen: row.run.marked ?? 0 });
  return {
    throughput: { directRps: Math.round(m.maxDirect.run.rps), gatewayRps: Math.round(m.maxGateway.run.rps), gatewayToDirect: ratio(m.maxGateway.run.rps, m.maxDirect.run.rps) },
    fixedRate: {
      rate: m.rate,
      overallRate: { direct: latencyOf(m.overallRate.direct.run), gateway: latencyOf(m.overallRate.gateway.run), addedMs: addedMs(m.overallRate.gateway.run, m.overallRate.direct.run) },
      paced: {
        direct: latencyOf(m.paced.direct.run),
        gateway: latencyOf(m.paced.gateway.run),
        addedMs: addedMs(m.paced.gateway.run, m.paced.direct.run),
        // A full bulkhead answers from the stale cache: 200s that never reached the backend.
        staleAnswers: m.paced.gateway.counters.stale_serves_total ?? 0,
      },
    },
    breakerOpen: {
      overallRate: fastFail(m.fastFail.overallRate, m.overallRate.direct, m.overallRate.gateway),
      paced: fastFail(m.fastFail.paced, m.paced.direct, m.paced.gateway),
      staleServed: { ...againstHealthy(m.staleServed, m.paced.direct, m.paced.gateway), staleAnswers: m.staleServed.run.marked ?? 0 },
    },
  };
}

export type Summary = ReturnType<typeof summarize>;

export function summaryText(sm: Summary, extra: { backendRequestsWhileOpen: number; breakerAfter: string }): string {
  const { throughput: t, fixedRate: f, breakerOpen: b } = sm;
  const plus = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(2)} ms`;
  const times = (x: { p50: number; p99: number }) => `p50 ×${x.p50.toFixed(2)}, p99 ×${x.p99.toFixed(2)}`;
  const answers = (x: { non2xx: number; answers: number; circuitOpen: number }) => `${x.non2xx}/${x.answers} non-2xx, ${x.circuitOpen} of them CIRCUIT_OPEN`;
  return [
    `a) max throughput, gateway/direct: ${t.gatewayToDirect.toFixed(3)} (${t.gatewayRps} vs ${t.directRps} req/s)`,
    `b) added latency at ${f.rate} req/s, paced:       p50 ${plus(f.paced.addedMs.p50)}, p99 ${plus(f.paced.addedMs.p99)}` +
      (f.paced.staleAnswers ? `  (${f.paced.staleAnswers} gateway answers were stale: bulkhead full)` : ''),
    `   added latency at ${f.rate} req/s, overallRate: p50 ${plus(f.overallRate.addedMs.p50)}, p99 ${plus(f.overallRate.addedMs.p99)}  (bursty: see README)`,
    `c) breaker open, paced:       ${times(b.paced.timesDirectHealthy)} of direct healthy; ${times(b.paced.timesGatewayHealthy)} of gateway healthy  (${answers(b.paced)})`,
    `   breaker open, overallRate: ${times(b.overallRate.timesDirectHealthy)} of direct healthy; ${times(b.overallRate.timesGatewayHealthy)} of gateway healthy  (${answers(b.overallRate)})`,
    `   requests that reached the down backend while open: ${extra.backendRequestsWhileOpen}; breaker after c) and d): ${extra.breakerAfter}`,
    `d) breaker open, cached ids, paced: ${times(b.staleServed.timesDirectHealthy)} of direct healthy  (${b.staleServed.staleAnswers}/${b.staleServed.answers} stale 200s)`,
    '',
  ].join('\n');
}

/** Phases during which other processes on the machine used more than `share` of its CPU. */
export function contended(rows: readonly Row[], cores: number, share = 0.1): string[] {
  return rows
    .filter(({ run, cpuMs }) => {
      if (cpuMs.machine === undefined) return false;
      const ours = Object.entries(cpuMs).reduce((sum, [name, v]) => (name === 'machine' ? sum : sum + v), 0);
      return (cpuMs.machine - ours) / (run.durationS * 1000 * cores) > share;
    })
    .map(({ phase, side }) => `${phase} ${side}`);
}

const CPU_COLUMNS = ['generator', 'gateway', 'hop-http', 'hop-express', 'orders-java', 'redis', 'jaeger'] as const;

/** CPU µs a process spent per answered request during a phase. */
export function cpuPerRequestUs(row: Row, name: string): number {
  return row.run.completed ? Math.round(((row.cpuMs[name] ?? 0) * 1000) / row.run.completed) : 0;
}

/** The share of the machine other processes (not ours) used during a phase, 0-1; undefined off Linux. */
export function notOurs(row: Row, cores: number): number | undefined {
  if (row.cpuMs.machine === undefined) return undefined;
  const oursMs = Object.entries(row.cpuMs).reduce((sum, [name, v]) => (name === 'machine' ? sum : sum + v), 0);
  return Math.max(0, (row.cpuMs.machine - oursMs) / (row.run.durationS * 1000 * cores));
}

/** CPU per request of each process, how busy the machine was, and what the gateway's counters say happened. */
export function cpuTable(rows: readonly Row[], cores: number): string {
  const head = `${pad('phase', 34)}${pad('side', 22)}${CPU_COLUMNS.map((c) => lpad(`${c} µs`, 14)).join('')}${lpad('machine busy', 14)}${lpad('not ours', 10)}  gateway counters`;
  const lines = rows.map(({ phase, side, run, cpuMs, counters }) => {
    const perRequest = (name: string) => cpuPerRequestUs({ phase, side, run, cpuMs, counters }, name);
    const capacityMs = run.durationS * 1000 * cores;
    const oursMs = Object.entries(cpuMs).reduce((sum, [name, v]) => (name === 'machine' ? sum : sum + v), 0);
    const busy = (cpuMs.machine ?? oursMs) / capacityMs;
    const others = cpuMs.machine === undefined ? '?' : `${Math.max(0, Math.round(((cpuMs.machine - oursMs) / capacityMs) * 100))}%`;
    const notable = Object.entries(counters)
      .filter(([name]) => !name.startsWith('http_requests_total') && name !== 'connector_calls_total{outcome="ok"}')
      .map(([name, n]) => `${name.replace(/_total/, '')}:${n}`)
      .join(' ');
    return `${pad(phase, 34)}${pad(side, 22)}${CPU_COLUMNS.map((c) => lpad(String(perRequest(c)), 14)).join('')}${lpad(`${Math.round(busy * 100)}%`, 14)}${lpad(others, 10)}  ${notable || '-'}`;
  });
  return [head, '-'.repeat(head.length), ...lines].join('\n');
}
