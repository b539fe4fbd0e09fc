import { Router } from 'express';
import type { StoreHealth } from '../../ports/cache.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';

export interface HealthDeps {
  readonly registry: ConnectorRegistry;
  /** False until start-up has loaded the connectors, and again once shutdown begins. */
  readonly isAccepting: () => boolean;
  /** Shared stores (Redis); down means degraded (no cache, per-node limits), not unready. */
  readonly stores: readonly StoreHealth[];
}

/**
 * /healthz: the process is alive. /readyz: it should get traffic — `ready` when every connector
 * serves, `degraded` (still 200: the healthy parts answer) when some do not, `not_ready` (503)
 * when none does or it is starting or draining. A shared store that is down degrades, never fails.
 */
export function createHealthRouter(deps: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const connectors = deps.registry.list().map((e) => ({ name: e.name, state: e.state, ...(e.problem ? { problem: { stage: e.problem.stage, message: e.problem.message } } : {}) }));
    const serving = connectors.filter((c) => c.state !== 'failed').length;
    const stores = deps.stores.map((s) => ({ name: s.name, status: s.isUp() ? 'up' : 'down' }));
    const allWell = connectors.every((c) => c.state === 'ready') && stores.every((s) => s.status === 'up');
    const status = !deps.isAccepting() || serving === 0 ? 'not_ready' : allWell ? 'ready' : 'degraded';
    res.status(status === 'not_ready' ? 503 : 200).json({ status, connectors, stores });
  });
  return router;
}
