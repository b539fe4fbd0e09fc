// Issue 13's goals, judged on one run's rows: each a ratio or a bound against what the same run
// measured, with the verdict and why it could not be judged when it could not.
import { cpuPerRequestUs, notOurs, type Row } from './report.ts';

export interface Goal {
  readonly goal: string;
  readonly target: string;
  readonly measured: string;
  /** met, not met, or why it was not judged. */
  readonly verdict: string;
}

export interface GoalInputs {
  readonly cores: number;
  readonly maxExpressHop: Row;
  readonly maxGateway: Row;
  readonly paced?: { readonly gateway: Row; readonly direct: Row; readonly staleAnswers: number };
  /** Paced refusals: the breaker open (c) and the connector's rate limit (e). */
  readonly breakerOpen?: Row;
  readonly rateLimited?: Row;
  /** Throughput with one gateway process and with one per core (not measured while the gateway has no such setting). */
  readonly processes?: { readonly one: Row; readonly perCore: Row; readonly count: number };
}

const verdict = (met: boolean) => (met ? 'met' : 'not met');
const pct = (share: number | undefined) => (share === undefined ? '?' : `${Math.round(share * 100)}%`);
/** The issue judges p99 only on runs where other processes used under 10 % of the machine. */
const QUIET = 0.1;

export function judgeGoals(g: GoalInputs): Goal[] {
  const goals: Goal[] = [];
  const hop = g.maxGateway.run.rps / g.maxExpressHop.run.rps;
  goals.push({ goal: 'hop: gateway / bare express hop, max req/s', target: '≥ 0.5', measured: `${hop.toFixed(3)} (${Math.round(g.maxGateway.run.rps)} vs ${Math.round(g.maxExpressHop.run.rps)})`, verdict: verdict(hop >= 0.5) });
  if (g.paced) {
    const added50 = g.paced.gateway.run.latency.p50 - g.paced.direct.run.latency.p50;
    const added99 = g.paced.gateway.run.latency.p99 - g.paced.direct.run.latency.p99;
    const others = Math.max(notOurs(g.paced.gateway, g.cores) ?? 0, notOurs(g.paced.direct, g.cores) ?? 0);
    goals.push({ goal: 'tail: added latency p50, paced at half the max', target: '≤ 1 ms', measured: `${added50.toFixed(2)} ms`, verdict: verdict(added50 <= 1) });
    goals.push({
      goal: 'tail: added latency p99, paced at half the max', target: '≤ 5 ms', measured: `${added99.toFixed(2)} ms (not ours ${pct(others)})`,
      verdict: others < QUIET ? verdict(added99 <= 5) : `not judged: other processes used ${pct(others)} of the machine (≥ 10 %)`,
    });
    goals.push({ goal: 'tail: stale answers from the gateway\'s own stalls (bulkhead full)', target: '0', measured: String(g.paced.staleAnswers), verdict: verdict(g.paced.staleAnswers === 0) });
    const healthyUs = cpuPerRequestUs(g.paced.gateway, 'gateway');
    for (const [name, row] of [['breaker-open', g.breakerOpen], ['rate-limited', g.rateLimited]] as const) {
      if (!row) continue;
      const p99 = row.run.latency.p99;
      const refusalUs = cpuPerRequestUs(row, 'gateway');
      const others = notOurs(row, g.cores);
      goals.push({
        goal: `fast fail: ${name} refusal p99, paced`, target: '≤ 1 ms', measured: `${p99.toFixed(2)} ms (not ours ${pct(others)})`,
        verdict: (others ?? 0) < QUIET ? verdict(p99 <= 1) : `not judged: other processes used ${pct(others)} of the machine (≥ 10 %)`,
      });
      goals.push({ goal: `fast fail: ${name} refusal CPU / healthy read CPU (same rate)`, target: '≤ 0.33', measured: `${(refusalUs / healthyUs).toFixed(2)} (${refusalUs} vs ${healthyUs} µs)`, verdict: verdict(refusalUs / healthyUs <= 1 / 3) });
    }
  }
  if (g.processes) {
    const gain = g.processes.perCore.run.rps / g.processes.one.run.rps;
    goals.push({ goal: `every core: max req/s with ${g.processes.count} processes / 1`, target: `> 1 (up to ${g.processes.count})`, measured: gain.toFixed(2), verdict: verdict(gain > 1) });
  } else {
    goals.push({ goal: 'every core: max req/s with one process per core / 1', target: '> 1', measured: '-', verdict: 'not measured: the gateway has no multi-process mode yet' });
  }
  return goals;
}

export function goalsTable(goals: readonly Goal[]): string {
  const w = [Math.max(...goals.map((g) => g.goal.length)), Math.max(...goals.map((g) => g.target.length)), Math.max(...goals.map((g) => g.measured.length))];
  const line = (a: string, b: string, c: string, d: string) => `${a.padEnd(w[0]! + 2)}${b.padEnd(w[1]! + 2)}${c.padEnd(w[2]! + 2)}${d}`;
  const head = line('goal', 'target', 'measured', 'verdict');
  return [head, '-'.repeat(head.length), ...goals.map((g) => line(g.goal, g.target, g.measured, g.verdict))].join('\n');
}
