import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Metrics } from './metrics.ts';

/** GET /metrics in Prometheus text format (behind the API key like everything but health and docs). */
export function createMetricsRouter(deps: { metrics: Metrics; hostMetrics?: () => Promise<{ text: string; contentType: string }> }): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    // For the whole host when it runs several processes: every process's, summed by the primary.
    const { text, contentType } = deps.hostMetrics ? await deps.hostMetrics() : { text: await deps.metrics.registry.metrics(), contentType: deps.metrics.registry.contentType };
    res.type(contentType).send(text);
  });
  return router;
}

/** Counts and times every answer by its route pattern (never the raw path: ids would explode the labels). */
export function httpMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    res.on('finish', () => {
      const route = `${req.baseUrl}${(req.route as { path?: string } | undefined)?.path ?? ''}` || 'unmatched';
      const labels = { method: req.method, route: typeof req.route === 'object' ? route : 'unmatched', status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
    });
    next();
  };
}
