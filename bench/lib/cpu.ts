// CPU time of given processes and of the whole machine (Linux /proc), to tell in each phase how
// much of the 2 cores our processes used and how much went to other work on the machine.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // CLK_TCK is 100 on Linux

/** The fields of a `/proc/…/stat` line after the command name (which may hold spaces): state first, then ppid, … */
const statFields = (stat: string): string[] => stat.slice(stat.lastIndexOf(')') + 2).split(' ');

/** User plus system CPU ms of a `/proc/…/stat` line. */
const statCpuMs = (stat: string): number => {
  const fields = statFields(stat);
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
};

/** CPU ms a process (all its threads) used so far; 0 once it is gone. */
export function cpuMsOf(pid: number): number {
  try {
    return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}

/** CPU ms a process's threads used so far, by thread name (threads of one name summed: V8's GC helpers, worker threads). */
export function threadCpuMsOf(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      byName.set(name, (byName.get(name) ?? 0) + statCpuMs(stat));
    } catch {
      // a thread gone meanwhile
    }
  }
  return byName;
}

/** CPU ms the machine spent busy so far, every process's (busy: all but idle and iowait). */
export function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return fields.slice(0, 7).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0) * TICK_MS;
}

/** CPU ms used so far by this process and its direct children (servers, Redis, generators), alive now; and by the Redis servers among them. */
function oursMs(): { total: number; redis: number } {
  let total = cpuMsOf(process.pid);
  let redis = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(statFields(stat)[1]) !== process.pid) continue;
      const ms = statCpuMs(stat);
      total += ms;
      if (stat.includes('(redis-server)')) redis += ms;
    } catch {
      // gone meanwhile
    }
  }
  return { total, redis };
}

export interface CpuWindow {
  /** Ends the window: CPU ms per named process, the machine's busy ms, and the share of capacity others used. */
  end(): { readonly ms: Record<string, number>; readonly machineBusyPct: number; readonly notOursPct: number; readonly seconds: number };
}

/** Starts measuring: `pids` (name → pid) are reported one by one, and `redis` (every Redis we started); "ours" is this process and its children. */
export function cpuWindow(pids: Record<string, number>, cores: number): CpuWindow {
  const at = performance.now();
  const machine = machineBusyMs();
  const oursAtStart = oursMs();
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMsOf(pid)]));
  return {
    end() {
      const seconds = (performance.now() - at) / 1000;
      const ms = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMsOf(pid) - (start[name] ?? 0)]));
      const now = oursMs();
      const ours = now.total - oursAtStart.total;
      ms.redis = now.redis - oursAtStart.redis;
      const capacity = seconds * 1000 * cores;
      const busy = machineBusyMs() - machine;
      return { ms, seconds, machineBusyPct: Math.round((busy / capacity) * 100), notOursPct: Math.max(0, Math.round(((busy - ours) / capacity) * 100)) };
    },
  };
}

/** "server / redis" CPU µs per message of a window's `ms` (servers: all but the generators and Redis), `messages` counting the warm-up. */
export function perMessage(ms: Record<string, number>, messages: number): string {
  const server = Object.entries(ms).filter(([name]) => !name.startsWith('generator') && name !== 'redis').reduce((sum, [, v]) => sum + v, 0);
  return messages ? `${Math.round((server * 1000) / messages)} / ${Math.round(((ms.redis ?? 0) * 1000) / messages)}` : '-';
}
