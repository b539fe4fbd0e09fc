import { createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';

/** A request of the contract as Pact replays it, before it goes to the provider. */
export interface ReplayedRequest {
  readonly method: string;
  /** Path and query as the contract has them (`/petclinic/api/owners/6?x=1`). */
  readonly path: string;
  /** Lower-case names. Change them here: real credentials in place of the contract's placeholders. */
  headers: Record<string, string>;
  /** The exact bytes forwarded (Content-Length follows a replaced body). */
  body: Buffer;
}

/** Runs on every replayed request before it is forwarded, e.g. to put in real credentials. */
export type RequestFilter = (request: ReplayedRequest) => void | Promise<void>;

/** Sets a provider state up (or tears it down); `params` are the state's parameters in the contract. */
export type ProviderStateFn = (params: Record<string, unknown>) => void | Promise<void | Record<string, unknown>>;

/** A function (set up only) or a setup/teardown pair. A handler that throws fails the verification. */
export type ProviderStateHandler = ProviderStateFn | { readonly setup?: ProviderStateFn; readonly teardown?: ProviderStateFn };

/** Where the verifier posts provider-state changes, on the proxy itself (never forwarded). */
export const STATE_SETUP_PATH = '/_pactSetup';

export interface VerificationProxyOptions {
  /** The provider: an origin, optionally with a path that is prefixed to every request's path. */
  readonly target: URL;
  readonly host: string;
  readonly port: number;
  readonly stateHandlers: Readonly<Record<string, ProviderStateHandler>>;
  readonly requestFilter?: RequestFilter;
}

export interface VerificationProxy {
  /** `http://host:port` */
  readonly origin: string;
  /** The provider states set up so far. */
  readonly ran: ReadonlySet<string>;
  /** What went wrong on the proxy: a state that did not hold, a filter that threw, an unreachable provider. */
  readonly problems: readonly string[];
  close(): Promise<void>;
}

/** Thrown when the verifier's port is in use. */
export class VerifierPortTakenError extends Error {
  constructor(host: string, port: number, cause: unknown) {
    super(`the Pact verifier cannot listen on ${host}:${port}: the port is taken. Free it, or choose another with the \`port\` option or OMNIGATE_PACT_VERIFIER_PORT`, { cause });
    this.name = 'VerifierPortTakenError';
  }
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'];

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const flatHeaders = (req: IncomingMessage): Record<string, string> =>
  Object.fromEntries(Object.entries(req.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, Array.isArray(value) ? value.join(', ') : value]])));

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * The local server Pact's native verifier talks to: it answers provider-state changes with the
 * given handlers and forwards every other request, after `requestFilter`, to the provider. It
 * listens on a fixed port (Pact's own `Verifier` picks a random one and has no option for it).
 */
export async function startVerificationProxy(options: VerificationProxyOptions): Promise<VerificationProxy> {
  const { target, stateHandlers, requestFilter } = options;
  const ran = new Set<string>();
  const problems: string[] = [];
  const sockets = new Set<Socket>();
  const basePath = target.pathname.replace(/\/$/, '');

  // A failed state change answers 422, not 5xx: Pact's verifier retries a 5xx for minutes.
  async function changeState(body: Buffer, res: ServerResponse): Promise<void> {
    let change: { state?: string; action?: string; params?: Record<string, unknown> };
    try {
      change = JSON.parse(body.toString('utf8') || '{}') as typeof change;
    } catch {
      problems.push('a provider-state change that is not JSON');
      return void res.writeHead(400).end('not JSON');
    }
    const { state, action = 'setup', params = {} } = change;
    if (state === undefined) return void res.writeHead(400).end('no state');
    // Pact's verifier asks for state "" before an interaction that names none: nothing to set up.
    if (state === '') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const handler = stateHandlers[state];
    if (action === 'setup') ran.add(state);
    const fn = typeof handler === 'function' ? (action === 'setup' ? handler : undefined) : action === 'setup' ? handler?.setup : action === 'teardown' ? handler?.teardown : undefined;
    if (handler === undefined && action === 'setup') {
      problems.push(`no handler for provider state "${state}"`);
      return void res.writeHead(422).end(`no handler for provider state "${state}"`);
    }
    try {
      const values = fn ? await fn(params) : undefined;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(values ?? {}));
    } catch (err) {
      problems.push(`provider state "${state}" ${JSON.stringify(params)} (${action}) failed: ${messageOf(err)}`);
      res.writeHead(422).end(messageOf(err));
    }
  }

  async function forward(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const replayed: ReplayedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: flatHeaders(req), body };
    try {
      await requestFilter?.(replayed);
    } catch (err) {
      problems.push(`the request filter failed on ${replayed.method} ${replayed.path}: ${messageOf(err)}`);
      return void res.writeHead(502).end(`request filter failed: ${messageOf(err)}`);
    }
    const headers: OutgoingHttpHeaders = { ...replayed.headers, host: target.host, 'content-length': String(replayed.body.length) };
    for (const name of HOP_BY_HOP) delete headers[name];
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = send(new URL(`${basePath}${replayed.path}`, target.origin), { method: replayed.method, headers }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    });
    upstream.on('error', (err) => {
      problems.push(`the provider at ${target.origin} did not answer ${replayed.method} ${replayed.path}: ${messageOf(err)}`);
      if (!res.headersSent) res.writeHead(502).end(messageOf(err));
      else res.destroy();
    });
    upstream.end(replayed.body);
  }

  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => (req.method === 'POST' && req.url?.split('?')[0] === STATE_SETUP_PATH ? changeState(body, res) : forward(req, body, res)))
      .catch((err: unknown) => {
        problems.push(`verification proxy: ${messageOf(err)}`);
        if (!res.headersSent) res.writeHead(500).end(messageOf(err));
      });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new VerifierPortTakenError(options.host, options.port, err) : err));
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    origin: `http://${options.host}:${options.port}`,
    ran,
    problems,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
