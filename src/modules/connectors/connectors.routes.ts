import { Router } from 'express';
import type { ConnectorEntry, ConnectorRegistry } from './registry.ts';

/** Live resilience state of a connector (breakers, bulkhead), when the core has any. */
export type ResilienceView = (connector: string) => object | undefined;

/** A connector as /v1/connectors shows it: never its config. */
export function describeConnector(entry: ConnectorEntry, resilience?: ResilienceView) {
  const live = resilience?.(entry.name);
  return {
    name: entry.name,
    ...(entry.manifest ? { version: entry.manifest.version, system: entry.manifest.system } : {}),
    state: entry.state,
    loadedAt: entry.loadedAt,
    capabilities: entry.manifest?.capabilities.map((c) => c.name) ?? [],
    ...(entry.problem ? { problem: entry.problem } : {}),
    ...(live ? live : { breakers: [] }),
  };
}

export function createConnectorsRouter(deps: { registry: ConnectorRegistry; resilience?: ResilienceView }): Router {
  const router = Router();
  router.get('/connectors', (_req, res) => {
    res.json({ connectors: deps.registry.list().map((entry) => describeConnector(entry, deps.resilience)) });
  });
  return router;
}
