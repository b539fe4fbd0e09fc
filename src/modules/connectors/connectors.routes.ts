import { Router } from 'express';
import type { ConnectorEntry, ConnectorRegistry } from './registry.ts';

/** Live resilience state of a connector (breakers, bulkhead), when the core has any. */
export type ResilienceView = (connector: string) => object | undefined;

/** A connector as /v1/connectors shows it: never its config. */
export function describeConnector(entry: ConnectorEntry, resilience?: ResilienceView) {
  const live = resilience?.(entry.name);
  const manifest = entry.active?.manifest ?? entry.manifest;
  return {
    name: entry.name,
    ...(entry.active ? { version: entry.active.version, loadedAt: entry.active.loadedAt } : {}),
    ...(manifest ? { system: manifest.system } : {}),
    state: entry.state,
    capabilities: manifest?.capabilities.map((c) => c.name) ?? [],
    ...(entry.problem ? { problem: { stage: entry.problem.stage, message: entry.problem.message } } : {}),
    ...(entry.lastError ? { lastError: entry.lastError } : {}),
    ...(entry.rollbackTo ? { rollbackVersion: entry.rollbackTo.version } : {}),
    restarts: entry.restarts,
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
