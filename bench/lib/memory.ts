// Memory of a server process, measured the same way for the gateway and the baseline: the process
// runs with --inspect on loopback; we ask V8 through the inspector to collect garbage, then read
// process.memoryUsage() inside it, so heap numbers are live objects, not garbage not yet collected.
import { readdirSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';

export interface MemorySample {
  /** Resident set size (bytes), from /proc after the GC. */
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  /** Memory of C++ objects bound to JS (Buffers among them). */
  readonly external: number;
  readonly arrayBuffers: number;
}

/** Resident set size of any process, in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return kb ? Number(kb[1]) * 1024 : NaN;
}

/** Full GC in the process listening for the inspector on `inspectPort`, then its memory. */
export async function measureMemory(pid: number, inspectPort: number): Promise<MemorySample> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${inspectPort}`);
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let next = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<{ result?: { result?: { value?: unknown } } }>((resolve, reject) => {
      const id = ++next;
      const onMessage = (data: Buffer) => {
        const reply = JSON.parse(data.toString()) as { id?: number; error?: { message: string }; result?: { result?: { value?: unknown } } };
        if (reply.id !== id) return;
        ws.off('message', onMessage);
        if (reply.error) reject(new Error(`${method}: ${reply.error.message}`));
        else resolve(reply);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    // Twice: the first pass can leave objects whose finalizers free more.
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const reply = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    const usage = JSON.parse(String(reply.result?.result?.value)) as Omit<MemorySample, 'rss'>;
    return { rss: rssOf(pid), heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers };
  } finally {
    ws.close();
  }
}

/** After minus before, per field. */
export function memoryDelta(before: MemorySample, after: MemorySample): MemorySample {
  return {
    rss: after.rss - before.rss,
    heapUsed: after.heapUsed - before.heapUsed,
    heapTotal: after.heapTotal - before.heapTotal,
    external: after.external - before.external,
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
  };
}

/** Open file descriptors of a process (its sockets among them); NaN when /proc does not tell. */
export function openFiles(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}
