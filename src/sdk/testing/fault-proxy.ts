import { Agent as HttpAgent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy does to a request: the same five faults the sample backends' `/_admin/faults` offer. */
export type FaultKind = 'down' | 'latency' | 'hang' | 'error' | 'garbage';

export interface Fault {
  readonly kind: FaultKind;
  /** `latency`: how long each request waits before it is forwarded. Default {@link DEFAULT_FAULT_LATENCY_MS}. */
  readonly latencyMs?: number;
  /** `error`: the status of the reply, 400..599. Default 503. */
  readonly status?: number;
  /** `error` and `garbage`: the body of the reply instead of the default one (e.g. valid JSON with wrong types). */
  readonly body?: string;
  /**
   * Only requests whose path and query (as the proxy received them) match are faulted; the
   * others are forwarded untouched. A RegExp or its source. Default: every request.
   */
  readonly pathPattern?: RegExp | string;
}

export interface FaultProxyOptions {
  /** The backend, as a connector's `baseUrl` names it (http or https, with any context path). */
  readonly target: string;
  /** Default 0: an ephemeral port. */
  readonly port?: number;
  /** A loopback address only. Default `127.0.0.1`. */
  readonly host?: string;
  /** At most this many client connections at once; more are refused. Default {@link DEFAULT_FAULT_PROXY_MAX_CONNECTIONS}. */
  readonly maxConnections?: number;
}

export interface FaultProxyStats {
  /** Requests received since start. */
  readonly requests: number;
  /** Requests forwarded to the target (after any latency). */
  readonly forwarded: number;
  /** Requests a fault applied to, by kind. */
  readonly faulted: Readonly<Record<FaultKind, number>>;
  /** Requests held by `hang` right now. */
  readonly hanging: number;
}

export interface FaultProxy {
  /** The target's URL with the proxy's origin: use it as the connector's `baseUrl`. */
  readonly url: string;
  /** `http://host:port` of the proxy. */
  readonly origin: string;
  /** Applies `fault` to every later (matching) request; requests held by an earlier `hang` are dropped. */
  setFault(fault: Fault): void;
  /** Forwards every later request untouched; requests held by `hang` are dropped (their connections closed). */
  clear(): void;
  stats(): FaultProxyStats;
  /** Stops listening and closes every connection, to clients and to the target. */
  close(): Promise<void>;
}

export const DEFAULT_FAULT_LATENCY_MS = 1_000;
export const DEFAULT_FAULT_PROXY_MAX_CONNECTIONS = 256;
/** The upper bound of `latencyMs`, so a typo cannot hold a test run for hours. */
export const MAX_FAULT_LATENCY_MS = 600_000;
const DEFAULT_ERROR_STATUS = 503;
const FAULT_KINDS: readonly FaultKind[] = ['down', 'latency', 'hang', 'error', 'garbage'];
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;
/** Headers that belong to one hop (RFC 9110 §7.6.1), never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const DEFAULT_GARBAGE = '<html><body>fault injected by the omnigate test kit: this is not JSON</body></html>';

interface ActiveFault {
  readonly kind: FaultKind;
  readonly latencyMs: number;
  readonly status: number;
  readonly body: string | undefined;
  readonly pattern: RegExp | undefined;
}

/** Checks a fault once, when it is set, so a wrong one fails where the test sets it. */
function activeFault(fault: Fault): ActiveFault {
  if (!FAULT_KINDS.includes(fault.kind)) throw new TypeError(`unknown fault kind "${String(fault.kind)}": one of ${FAULT_KINDS.join(', ')}`);
  const latencyMs = fault.latencyMs ?? DEFAULT_FAULT_LATENCY_MS;
  if (!Number.isInteger(latencyMs) || latencyMs < 0 || latencyMs > MAX_FAULT_LATENCY_MS) throw new RangeError(`latencyMs must be an integer in 0..${MAX_FAULT_LATENCY_MS}, got ${latencyMs}`);
  const status = fault.status ?? DEFAULT_ERROR_STATUS;
  if (!Number.isInteger(status) || status < 400 || status > 599) throw new RangeError(`status must be an integer in 400..599, got ${status}`);
  const pattern = fault.pathPattern === undefined ? undefined : new RegExp(fault.pathPattern);
  return { kind: fault.kind, latencyMs, status, body: fault.body, pattern };
}

/**
 * Starts an HTTP reverse proxy on loopback in front of `target` that injects faults per
 * request: the test kit's own fault injection, so a connector's conformance can run against a
 * real backend that has no fault endpoint. Bodies stream both ways; paths are forwarded as they
 * are, so a `target` with a context path (`http://host/petclinic/api`) gives a {@link FaultProxy.url}
 * with the same path. A target that cannot be reached closes the client's connection, as the
 * backend itself would. See docs/connector-guide.md, "The fault proxy" (under "Testing your connector").
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new TypeError(`target must be an http(s) URL, got ${options.target}`);
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) throw new RangeError(`the fault proxy listens on loopback only, not on ${host}`);
  const secure = target.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: 64 }) : new HttpAgent({ keepAlive: true, maxSockets: 64 });
  const send = secure ? httpsRequest : httpRequest;

  let fault: ActiveFault | undefined;
  const counts = { requests: 0, forwarded: 0, faulted: { down: 0, latency: 0, hang: 0, error: 0, garbage: 0 } };
  const sockets = new Set<Socket>();
  const held = new Set<IncomingMessage>();
  const timers = new Set<NodeJS.Timeout>();

  function dropHeld(): void {
    for (const req of held) req.socket.destroy();
    held.clear();
  }

  function forward(req: IncomingMessage, res: ServerResponse): void {
    counts.forwarded++;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    headers.host = target.host;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    const upstream = send({ protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent });
    upstream.on('response', (reply) => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(reply.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
      res.writeHead(reply.statusCode ?? 502, out);
      reply.pipe(res);
      reply.on('error', () => res.destroy());
    });
    // Unreachable target, or a reset mid-reply: the client sees its connection go, as it would without the proxy.
    upstream.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  function reply(res: ServerResponse, status: number, contentType: string, body: string): void {
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(body);
  }

  const server = createServer((req, res) => {
    counts.requests++;
    const current = fault;
    if (!current || (current.pattern && !current.pattern.test(req.url ?? '/'))) return forward(req, res);
    counts.faulted[current.kind]++;
    switch (current.kind) {
      case 'down':
        return void req.socket.destroy();
      case 'hang':
        held.add(req);
        return void req.socket.once('close', () => held.delete(req));
      case 'error':
        return reply(res, current.status, 'application/json', current.body ?? JSON.stringify({ error: 'fault injected by the omnigate test kit', status: current.status }));
      case 'garbage':
        return reply(res, 200, 'application/json', current.body ?? DEFAULT_GARBAGE);
      case 'latency': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!req.socket.destroyed) forward(req, res);
        }, current.latencyMs);
        timers.add(timer);
        return;
      }
    }
  });
  server.maxConnections = options.maxConnections ?? DEFAULT_FAULT_PROXY_MAX_CONNECTIONS;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket: Socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const path = `${target.pathname === '/' ? '' : target.pathname}${target.search}`;

  return {
    url: `${origin}${path}`,
    origin,
    setFault(next) {
      const checked = activeFault(next);
      dropHeld();
      fault = checked;
    },
    clear() {
      fault = undefined;
      dropHeld();
    },
    stats: () => ({ requests: counts.requests, forwarded: counts.forwarded, faulted: { ...counts.faulted }, hanging: held.size }),
    async close() {
      fault = undefined;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      held.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await closed;
    },
  };
}
