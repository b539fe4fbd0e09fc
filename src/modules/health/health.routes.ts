import { Router } from 'express';
import type { ConnectorRegistry } from '../connectors/registry.ts';

export interface HealthDeps {
  readonly registry: ConnectorRegistry;
  /** False until start-up has loaded the connectors, and again once shutdown begins. */
  readonly isAccepting: () => boolean;
}

/**
 * /healthz: the process is alive. /readyz: it should get traffic — `ready` when every connector
 * serves, `degraded` (still 200: the healthy parts answer) when some do not, `not_ready` (503)
 * when none does or it is starting or draining.
 */
export function createHealthRouter(deps: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const connectors = deps.registry.list().map((e) => ({ name: e.name, state: e.state, ...(e.problem ? { problem: e.problem } : {}) }));
    const serving = connectors.filter((c) => c.state !== 'failed').length;
    const status = !deps.isAccepting() || serving === 0 ? 'not_ready' : connectors.every((c) => c.state === 'ready') ? 'ready' : 'degraded';
    res.status(status === 'not_ready' ? 503 : 200).json({ status, connectors });
  });
  return router;
}
