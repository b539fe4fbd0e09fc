import { Router } from 'express';
import type { StoreHealth } from '../../ports/cache.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';

export interface HealthDeps {
  readonly registry: ConnectorRegistry;
  /** False until start-up has loaded the connectors, and again once shutdown begins. */
  readonly isAccepting: () => boolean;
  /** Shared stores (Redis); down or warning means degraded, never unready. */
  readonly stores: readonly StoreHealth[];
}

/**
 * /healthz: the process is alive. /readyz: it should get traffic — `ready` when every connector
 * serves, `degraded` (still 200: the healthy parts answer) when some do not, `not_ready` (503)
 * when none does or it is starting or draining. A connector whose periodic health check fails
 * (its backend stopped answering) is `unhealthy` until a recheck passes, so it degrades too. A shared store that is down, or up with a
 * warning (the durable Redis near its memory limit), degrades, never fails; so does a capability
 * several connectors declare with no owner configured (`ambiguousCapabilities`), and a route of a
 * routed capability whose connector is not loaded or does not declare it (`brokenRoutes`).
 */
export function createHealthRouter(deps: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    // Unauthenticated: states and stages only. What a connector wrote (its problem message) is
    // behind a key, on /v1/connectors.
    const connectors = deps.registry.list().map((e) => ({ name: e.name, state: e.state, ...(e.problem ? { problem: { stage: e.problem.stage } } : {}) }));
    const serving = connectors.filter((c) => c.state !== 'failed').length;
    const stores = await Promise.all(deps.stores.map(storeStatus));
    // A capability several connectors declare with no owner configured: served, but by chance of order.
    const ambiguous = deps.registry.sharedCapabilities().filter((s) => s.ambiguous).map(({ capability, connectors: declaring, servedBy }) => ({ capability, connectors: declaring, servedBy }));
    // A route whose connector is not loaded or does not declare the capability: its calls fail.
    const brokenRoutes = deps.registry.sharedCapabilities().flatMap(({ capability, routeProblems }) => (routeProblems ?? []).map((p) => ({ capability, ...p })));
    const allWell = connectors.every((c) => c.state === 'ready') && stores.every((s) => s.status === 'up' && !s.warning) && ambiguous.length === 0 && brokenRoutes.length === 0;
    const status = !deps.isAccepting() || serving === 0 ? 'not_ready' : allWell ? 'ready' : 'degraded';
    res.status(status === 'not_ready' ? 503 : 200).json({ status, connectors, stores, ...(ambiguous.length > 0 ? { ambiguousCapabilities: ambiguous } : {}), ...(brokenRoutes.length > 0 ? { brokenRoutes } : {}) });
  });
  return router;
}

async function storeStatus(store: StoreHealth): Promise<{ name: string; status: 'up' | 'down'; warning?: string }> {
  if (!store.isUp()) return { name: store.name, status: 'down' };
  const warning = await store.warning?.().catch(() => undefined);
  return { name: store.name, status: 'up', ...(warning ? { warning } : {}) };
}
