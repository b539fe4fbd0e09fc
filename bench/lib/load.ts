// The two load generators: autocannon (closed loop) and an evenly paced open loop over raw sockets.
import autocannon from 'autocannon';
import { connect, type Socket } from 'node:net';

/** One measurement: every response's latency (ms, sub-millisecond) and how the answers split. */
export interface LoadRun {
  readonly tool: 'autocannon' | 'paced';
  readonly durationS: number;
  readonly connections: number | undefined;
  readonly targetRate: number | undefined;
  readonly completed: number;
  /** Completed responses per second, any status. */
  readonly rps: number;
  readonly errors: number;
  readonly statuses: Record<string, number>;
  readonly latency: Percentiles;
  /** Paced only: how late requests left against their schedule (the generator keeping up). */
  readonly scheduleLag?: Percentiles;
  /** Responses whose body contained `marker`, when one was asked for. */
  readonly marked?: number;
  /** autocannon's own summary (integer-ms histogram), for reference. */
  readonly autocannon?: { readonly latency: Record<string, number>; readonly requests: Record<string, number> };
}

export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface Target {
  /** http://host:port */
  readonly origin: string;
  readonly headers: Record<string, string>;
  /** Rotated over, in order. */
  readonly paths: readonly string[];
  /** Count the answers whose body contains this. */
  readonly marker?: string;
}

/** Closed loop: `connections` keep one request each in flight; with overallRate each stops at its share per second. */
export function runAutocannon(target: Target, options: { connections: number; durationS: number; overallRate?: number }): Promise<LoadRun> {
  const latencies: number[] = [];
  let marked = 0;
  const onResponse = target.marker === undefined ? undefined : (_status: number, body: string) => void (body.includes(target.marker!) && marked++);
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.origin,
        connections: options.connections,
        duration: options.durationS,
        headers: target.headers,
        requests: target.paths.map((path) => ({ method: 'GET' as const, path, ...(onResponse ? { onResponse } : {}) })),
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
        timeout: 10,
      },
      (err, result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const statuses: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0;
        const completed = latencies.length;
        resolve({
          tool: 'autocannon',
          durationS: result.duration,
          connections: options.connections,
          targetRate: options.overallRate,
          completed,
          rps: completed / result.duration,
          errors: result.errors,
          statuses,
          latency: percentiles(latencies),
          ...(target.marker === undefined ? {} : { marked }),
          autocannon: { latency: pick(result.latency), requests: pick(result.requests) },
        });
      },
    );
    // autocannon's histogram keeps whole milliseconds (and 2xx only); the event has the exact time.
    instance.on('response', (_client, _status, _bytes, responseTime) => void latencies.push(responseTime));
  });
}

/** One answer of a paced run: which request (its index in the run), when it left (performance.now()) and how long it took. */
export interface PacedAnswer {
  readonly index: number;
  readonly sentAt: number;
  readonly ms: number;
  readonly status: number;
}

/**
 * Open loop: request i leaves at start + i/rate whatever happened to earlier ones, each on an idle
 * keep-alive socket (a new one when all are busy), so a slow answer cannot hold the next request
 * back (no coordinated omission). Requests due while the generator was descheduled leave at once;
 * latency is timed from when a request really left, and how late it left is `scheduleLag`.
 * Raw sockets and prebuilt requests: node:http cost about twice the CPU per request, and on
 * 2 cores that is taken from the gateway.
 */
export function runPaced(target: Target, options: { rate: number; durationS: number; onAnswer?: (answer: PacedAnswer) => void }): Promise<LoadRun> {
  const origin = new URL(target.origin);
  const pool = createRawPool(origin, target.marker !== undefined);
  const headerLines = Object.entries(target.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const requests = target.paths.map((path) => Buffer.from(`GET ${path} HTTP/1.1\r\nhost: ${origin.host}\r\n${headerLines}\r\n`, 'latin1'));
  const total = Math.round(options.rate * options.durationS);
  const intervalMs = 1000 / options.rate;
  const latencies: number[] = [];
  const lags: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let marked = 0;
  let settled = 0;
  const start = performance.now() + 5;

  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      pool.destroy();
      const durationS = (performance.now() - start) / 1000;
      resolve({
        tool: 'paced', durationS, connections: undefined, targetRate: options.rate, completed: latencies.length,
        rps: latencies.length / durationS, errors: errors + (total - settled), statuses, latency: percentiles(latencies), scheduleLag: percentiles(lags),
        ...(target.marker === undefined ? {} : { marked }),
      });
    };
    const fire = (i: number, due: number) => {
      const sentAt = performance.now();
      lags.push(sentAt - due);
      pool.send(requests[i % requests.length]!, (status, body) => {
        settled++;
        if (status === undefined) errors++;
        else {
          const ms = performance.now() - sentAt;
          latencies.push(ms);
          options.onAnswer?.({ index: i, sentAt, ms, status });
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (target.marker !== undefined && body?.includes(target.marker)) marked++;
        }
        if (settled === total) finish();
      });
    };
    let sent = 0;
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * intervalMs <= now) {
        fire(sent, start + sent * intervalMs);
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
      else setTimeout(finish, 10_000).unref(); // answers still missing by then count as errors
    };
    setTimeout(tick, 5);
  });
}

type Done = (status: number | undefined, body: string | undefined) => void;

interface Conn {
  readonly socket: Socket;
  done: Done | undefined;
  /** When it last became idle (performance.now()). */
  idleSince: number;
}

/**
 * An idle socket is not used again after this long: under the servers' keep-alive timeouts
 * (node:http's 5 s), so a request is never written to a socket the server is closing just then.
 * Idle sockets are reused newest first, so old ones wait at the bottom until a burst needs them.
 */
const IDLE_RETIRE_MS = 4_000;

/** Keep-alive HTTP/1.1 sockets, one request in flight each; replies framed by Content-Length. */
function createRawPool(url: URL, wantBody: boolean) {
  const idle: Conn[] = [];
  const all = new Set<Conn>();
  const open = (): Conn => {
    const conn: Conn = { socket: connect({ host: url.hostname, port: Number(url.port), noDelay: true }), done: undefined, idleSince: 0 };
    all.add(conn);
    let buffer: Buffer | undefined;
    let bodyStart = -1;
    let length = 0;
    let status = 0;
    const settle = (answer: number | undefined, body: string | undefined) => {
      const done = conn.done;
      conn.done = undefined;
      done?.(answer, body);
    };
    conn.socket.on('error', () => conn.socket.destroy());
    conn.socket.on('close', () => {
      all.delete(conn);
      const at = idle.indexOf(conn);
      if (at >= 0) idle.splice(at, 1);
      settle(undefined, undefined);
    });
    conn.socket.on('data', (chunk: Buffer) => {
      buffer = buffer ? Buffer.concat([buffer, chunk]) : chunk;
      if (bodyStart < 0) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.toString('latin1', 0, end);
        status = Number(head.slice(9, 12));
        const declared = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (!declared) return void conn.socket.destroy(); // chunked or close-delimited: not expected here
        length = Number(declared[1]);
        bodyStart = end + 4;
      }
      if (buffer.length < bodyStart + length) return;
      const body = wantBody ? buffer.toString('utf8', bodyStart, bodyStart + length) : undefined;
      buffer = undefined;
      bodyStart = -1;
      conn.idleSince = performance.now();
      idle.push(conn);
      settle(status, body);
    });
    return conn;
  };
  return {
    send(bytes: Buffer, done: Done) {
      const now = performance.now();
      while (idle.length > 0 && now - idle[0]!.idleSince > IDLE_RETIRE_MS) idle.shift()!.socket.destroy();
      const conn = idle.pop() ?? open();
      conn.done = done;
      conn.socket.write(bytes);
    },
    destroy() {
      for (const conn of all) conn.socket.destroy();
    },
  };
}

export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1]!, mean: sum / sorted.length };
}

function pick(histogram: object): Record<string, number> {
  return Object.fromEntries(Object.entries(histogram).filter(([k, v]) => typeof v === 'number' && /^(average|mean|stddev|min|max|p50|p90|p99|p99_9|total|sent)$/.test(k)));
}
