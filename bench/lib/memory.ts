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

interface Inspector {
  call(method: string, params?: object): Promise<{ result?: { value?: unknown }; profile?: HeapNode }>;
  close(): void;
}

/** A session with the inspector of the process listening on `inspectPort` (Chrome DevTools Protocol). */
async function connectInspector(inspectPort: number): Promise<Inspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${inspectPort}`);
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let next = 0;
  return {
    call: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = ++next;
        const onMessage = (data: Buffer) => {
          const reply = JSON.parse(data.toString()) as { id?: number; error?: { message: string }; result?: object };
          if (reply.id !== id) return;
          ws.off('message', onMessage);
          if (reply.error) reject(new Error(`${method}: ${reply.error.message}`));
          else resolve(reply.result ?? {});
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Full GC in the process listening for the inspector on `inspectPort`, then its memory. */
export async function measureMemory(pid: number, inspectPort: number): Promise<MemorySample> {
  const inspector = await connectInspector(inspectPort);
  try {
    // Twice: the first pass can leave objects whose finalizers free more.
    await inspector.call('HeapProfiler.collectGarbage');
    await inspector.call('HeapProfiler.collectGarbage');
    const reply = await inspector.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    const usage = JSON.parse(String(reply.result?.value)) as Omit<MemorySample, 'rss'>;
    return { rss: rssOf(pid), heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers };
  } finally {
    inspector.close();
  }
}

interface HeapNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}

/** Where live heap bytes were allocated: the innermost frames of our code or a package, bytes summed. */
export interface HeapSite {
  readonly site: string;
  readonly bytes: number;
}

/**
 * V8's sampling heap profiler from now on (BENCH_HEAP_PROFILE=1): `stop` gives the allocation
 * sites of what is still alive then (a GC first), the biggest first.
 */
export async function startHeapSampling(inspectPort: number): Promise<{ stop(top?: number): Promise<HeapSite[]> }> {
  const inspector = await connectInspector(inspectPort);
  await inspector.call('HeapProfiler.enable');
  await inspector.call('HeapProfiler.startSampling', { samplingInterval: 4096 });
  return {
    async stop(top = 25) {
      await inspector.call('HeapProfiler.collectGarbage');
      const { profile } = await inspector.call('HeapProfiler.stopSampling');
      inspector.close();
      const bySite = new Map<string, number>();
      const frame = (n: HeapNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
      const walk = (node: HeapNode, stack: readonly string[]) => {
        const here = node.callFrame.url ? [...stack, frame(node)] : stack;
        if (node.selfSize > 0) {
          const site = here.slice(-3).reverse().join(' < ') || '(vm)';
          bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
        }
        for (const child of node.children) walk(child, here);
      };
      if (profile) walk((profile as unknown as { head: HeapNode }).head, []);
      return [...bySite].map(([site, bytes]) => ({ site, bytes })).sort((a, b) => b.bytes - a.bytes).slice(0, top);
    },
  };
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
