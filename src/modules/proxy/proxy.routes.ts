import express, { Router, type Request, type Response } from 'express';
import { AppError, isAppError } from '../../kernel/errors.ts';
import { childTraceparent } from '../../kernel/trace.ts';
import type { ConnectorCalls } from '../connectors/connector-calls.ts';
import type { ConnectorRegistry, ConnectorVersion } from '../connectors/registry.ts';
import { contextOf } from '../http/request-context.ts';
import type { ConnectorManifest } from '../../sdk/types.ts';
import { forwardedHeaders, relay, send } from './forward.ts';
import { refusalOf } from './proxy-rules.ts';

export interface ProxyRouterDeps {
  readonly registry: ConnectorRegistry;
  readonly calls: ConnectorCalls;
  readonly bodyLimitBytes: number;
}

/**
 * `/v1/proxy/{system}/...`: raw pass-through to a backend, with the connector's credentials
 * injected, but only for what its manifest opens (paths, and JSON-RPC methods by name): never an
 * open proxy. The body is read once into a buffer; that buffer is checked, signed and sent as it
 * is. Every call runs through the connector's bulkhead, breaker, deadline and rate limit.
 */
export function createProxyRouter(deps: ProxyRouterDeps): Router {
  const router = Router();

  const forward = async (req: Request, res: Response): Promise<void> => {
    const system = String(req.params.system);
    // The exact path the client sent below /v1/proxy/{system}, trailing slash and all.
    const [pathname = '', search] = req.originalUrl.split(/\?(.*)/s, 2);
    const path = pathname.slice(pathname.indexOf(`/proxy/${system}`) + `/proxy/${system}`.length) || '/';
    const entry = deps.registry.bySystem(system);
    if (!entry) throw new AppError('NOT_FOUND', `no connector reaches a system named ${system}`);
    const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
    const allowedBy = (manifest: ConnectorManifest | undefined): void => {
      const refusal = refusalOf(manifest?.proxy?.allow ?? [], { method: req.method, path, body });
      if (refusal) throw new AppError('PROXY_PATH_FORBIDDEN', `${refusal} through the proxy of ${system}`, { connector: entry.name });
    };
    // Refused here without taking a slot; checked again against the version the call runs on.
    allowedBy(entry.active?.manifest ?? entry.manifest);

    const ctx = contextOf(res);
    const connector = entry.name;
    const isRead = req.method === 'GET' || req.method === 'HEAD';
    ctx.log.info({ connector, method: req.method, path }, 'proxying');
    const request = {
      method: req.method,
      path: `${path.replace(/^\//, '')}${search ? `?${search}` : ''}`,
      headers: { traceparent: childTraceparent(ctx.trace) },
      body: body?.toString('utf8'),
      check: (version: ConnectorVersion) => allowedBy(version.manifest),
    };
    try {
      // As for commands, a write runs to its deadline even if the client leaves.
      await deps.calls.proxy(connector, request, { trace: ctx.trace, log: ctx.log, ...(isRead ? { signal: ctx.signal } : {}) }, (url, credentials, signal) =>
        exchange({ req, res, connector, url, credentials, body, signal }),
      );
    } catch (err) {
      if (!res.headersSent) throw err;
      // The backend's reply (a 5xx the breaker counted, or one cut off) is already with the client.
      if (!res.writableFinished) res.destroy();
    }
  };

  const raw = express.raw({ type: () => true, limit: deps.bodyLimitBytes });
  router.all('/:system/*path', raw, forward);
  router.all('/:system', (req) => {
    throw new AppError('PROXY_PATH_FORBIDDEN', `name a path under /v1/proxy/${String(req.params.system)}/`);
  });
  return router;
}

/** Sends the checked buffer and streams the reply back; throws what the breaker must count. */
async function exchange(call: { req: Request; res: Response; connector: string; url: URL; credentials: Record<string, string>; body: Buffer | undefined; signal: AbortSignal }): Promise<void> {
  const { req, res, connector, body, signal } = call;
  const upstream = await send(call.url, { method: req.method, headers: forwardedHeaders(req.headers, call.credentials, body, req.method), body, signal }).catch((err: unknown) => {
    throw isAppError(err) ? err : new AppError('UPSTREAM_UNAVAILABLE', `the backend behind ${connector} could not be reached`, { connector }, { cause: err });
  });
  const outcome = await relay(upstream, res).catch((err: unknown) => {
    throw new AppError('UPSTREAM_UNAVAILABLE', `the backend behind ${connector} broke off its reply`, { connector }, { cause: err });
  });
  // Not the backend's health: the client left, so nothing was proved.
  if (outcome === 'client-gone') throw new AppError('UPSTREAM_UNAVAILABLE', `the client left before ${connector} finished answering`, { connector, abandoned: true });
  const status = upstream.statusCode ?? 502;
  // Passed on as the backend sent it, but counted against its breaker like any failed call.
  if (status >= 500) throw new AppError('UPSTREAM_UNAVAILABLE', `the backend behind ${connector} answered ${status}`, { connector, status });
}
