// Where the time goes: CPU of every process in the run (Linux /proc), and the gateway's own counters.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU milliseconds used so far, by process: this one (the load generator) and each child, by name. */
export type CpuSample = Record<string, number>;

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * Names the children by their command, or by pid where `named` knows it (the gateway's node from
 * the tickets backend's, the hop baselines). A process a child started (a gateway's cluster
 * workers) counts for that child.
 */
export function sampleCpu(named: ReadonlyMap<number, string>): CpuSample {
  const self = process.cpuUsage();
  const sample: CpuSample = { generator: (self.user + self.system) / 1000 };
  const machine = machineBusyMs();
  if (machine !== undefined) sample.machine = machine;
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return sample; // not Linux: generator only
  }
  const processes = new Map<number, { comm: string; ppid: number; ms: number }>();
  for (const pid of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid … utime(14) stime(15): comm may hold spaces, so split after the ')'.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    processes.set(Number(pid), { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(fields[1]), ms: ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1000 });
  }
  /** The child of this process that `pid` descends from (itself included), if any. */
  const childOfOurs = (pid: number): number | undefined => {
    for (let at: number | undefined = pid, depth = 0; at !== undefined && depth < 8; depth++) {
      const p = processes.get(at);
      if (!p) return undefined;
      if (p.ppid === process.pid) return at;
      at = p.ppid;
    }
    return undefined;
  };
  for (const [pid, p] of processes) {
    const child = childOfOurs(pid);
    if (child === undefined) continue;
    const comm = processes.get(child)!.comm;
    // Node names its main thread MainThread; the processes we started are known by pid.
    const name = named.get(child) ?? ({ java: 'orders-java', 'redis-server': 'redis', python3: 'crm-python', node: 'tickets-node', MainThread: 'tickets-node' } as Record<string, string>)[comm] ?? comm;
    sample[name] = (sample[name] ?? 0) + p.ms;
  }
  return sample;
}

/** CPU ms the whole machine spent busy so far (every process, ours or not), from /proc/stat. */
function machineBusyMs(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq: busy is all but idle and iowait. Softirq (loopback
    // networking) counts, as the kernel also charges it to the process it interrupted.
    const busy = fields.slice(0, 7).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0);
    return (busy / ticksPerSecond) * 1000;
  } catch {
    return undefined;
  }
}

/** CPU ms each process spent between two samples. */
export function cpuDelta(before: CpuSample, after: CpuSample): CpuSample {
  return Object.fromEntries(Object.keys(after).map((name) => [name, Math.round((after[name] ?? 0) - (before[name] ?? 0))]));
}

/** The counters the overhead bench reports. */
const CALL_COUNTERS = /^omnigate_(connector_calls_total|stale_serves_total|bulkhead_rejected_total|cache_lookups_total|http_requests_total|retries_total)\{/;

/** The gateway's Prometheus series (series → value) that `wanted` matches, scraped from /metrics; by default its call counters. */
export async function scrapeCounters(gatewayUrl: string, apiKey: string, wanted: RegExp = CALL_COUNTERS): Promise<Map<string, number>> {
  const text = await (await fetch(`${gatewayUrl}/metrics`, { headers: { 'x-api-key': apiKey } })).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!wanted.test(line)) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** What changed between two scrapes, with the series' names shortened; zero deltas left out. */
export function counterDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [series, value] of after) {
    const change = value - (before.get(series) ?? 0);
    if (change === 0) continue;
    const name = series
      .replace(/^omnigate_/, '')
      .replace(/connector="orders-java",?|capability="order.get",?|method="GET",?|route="\/v1\/orders\/:id",?/g, '')
      .replace(/,?\}$/, '}')
      .replace(/\{\}$/, '');
    delta[name] = change;
  }
  return delta;
}
