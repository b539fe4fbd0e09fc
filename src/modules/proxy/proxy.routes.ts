import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { AppError } from '../../kernel/errors.ts';
import { childTraceparent } from '../../kernel/trace.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import { contextOf } from '../http/request-context.ts';
import { sendProblem } from '../http/problems.ts';
import { isAllowed } from './proxy-rules.ts';

/** Headers of the client that never travel to a backend: its gateway credentials, above all. */
const STRIPPED = ['authorization', 'x-api-key', 'cookie', 'traceparent', 'tracestate', 'x-request-id'];

interface ProxyPlan {
  readonly target: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | undefined;
  readonly connector: string;
}

const planOf = (req: IncomingMessage): ProxyPlan => (req as IncomingMessage & { proxyPlan: ProxyPlan }).proxyPlan;

/**
 * `/v1/proxy/{system}/...`: raw pass-through to a backend, with the connector's credentials
 * injected, but only for the paths its manifest opens: never an open proxy.
 */
export function createProxyRouter(deps: { registry: ConnectorRegistry; bodyLimitBytes: number; timeoutMs: number }): Router {
  const router = Router();

  const plan = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const system = String(req.params.system);
    // The exact path the client sent below /v1/proxy/{system}, trailing slash and all.
    const [pathname = '', search] = req.originalUrl.split(/\?(.*)/s, 2);
    const path = pathname.slice(pathname.indexOf(`/proxy/${system}`) + `/proxy/${system}`.length) || '/';
    const entry = deps.registry.bySystem(system);
    if (!entry) throw new AppError('NOT_FOUND', `no connector reaches a system named ${system}`);
    const rules = (entry.active?.manifest ?? entry.manifest)?.proxy?.allow ?? [];
    if (!isAllowed(rules, req.method, path)) {
      throw new AppError('PROXY_PATH_FORBIDDEN', `${req.method} ${path} is not open through the proxy of ${system}`, { connector: entry.name });
    }
    const lease = deps.registry.lease(entry.name);
    let headers: Record<string, string>;
    let url: URL;
    const query = search ? `?${search}` : '';
    const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
    try {
      const baseUrl = String(lease.version.config.baseUrl);
      url = new URL(`${path.replace(/^\//, '')}${query}`, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
      headers = await lease.version.host.authorize({
        method: req.method,
        url: url.href,
        headers: { traceparent: childTraceparent(contextOf(res).trace) },
        body: body?.toString('utf8'),
      });
    } finally {
      lease.release();
    }
    (req as Request & { proxyPlan: ProxyPlan }).proxyPlan = {
      target: url.origin,
      path: `${url.pathname}${url.search}`,
      headers,
      body,
      connector: entry.name,
    };
    contextOf(res).log.info({ connector: entry.name, method: req.method, path }, 'proxying');
    next();
  };

  const proxy = createProxyMiddleware<Request, Response>({
    changeOrigin: true,
    proxyTimeout: deps.timeoutMs,
    router: (req) => planOf(req).target,
    pathRewrite: (_path, req) => planOf(req).path,
    on: {
      proxyReq: (proxyReq: ClientRequest, req: IncomingMessage) => {
        const { headers, body } = planOf(req);
        for (const name of STRIPPED) proxyReq.removeHeader(name);
        for (const [name, value] of Object.entries(headers)) proxyReq.setHeader(name, value);
        if (body) {
          proxyReq.setHeader('content-length', body.length);
          proxyReq.write(body);
        }
      },
      error: (err, req, res) => {
        const response = res as Response;
        if (!('status' in response) || response.headersSent) {
          (res as { destroy?: () => void }).destroy?.();
          return;
        }
        const timedOut = (err as NodeJS.ErrnoException).code === 'ECONNRESET' && response.req?.socket?.destroyed === false;
        const connector = planOf(req).connector;
        contextOf(response).log.warn({ connector, err }, 'proxy call failed');
        sendProblem(
          response,
          timedOut
            ? new AppError('UPSTREAM_TIMEOUT', `the backend behind ${connector} did not answer within ${deps.timeoutMs} ms`, { connector })
            : new AppError('UPSTREAM_UNAVAILABLE', `the backend behind ${connector} could not be reached`, { connector }),
        );
      },
    },
  });

  const raw = express.raw({ type: () => true, limit: deps.bodyLimitBytes });
  router.all('/:system/*path', raw, plan, proxy);
  router.all('/:system', (req) => {
    throw new AppError('PROXY_PATH_FORBIDDEN', `name a path under /v1/proxy/${String(req.params.system)}/`);
  });
  return router;
}
