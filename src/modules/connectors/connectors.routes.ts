import { Router } from 'express';
import type { ConnectorEntry, ConnectorRegistry } from './registry.ts';

/** A connector as /v1/connectors and /readyz show it: never its config. */
export function describeConnector(entry: ConnectorEntry) {
  return {
    name: entry.name,
    ...(entry.manifest ? { version: entry.manifest.version, system: entry.manifest.system } : {}),
    state: entry.state,
    loadedAt: entry.loadedAt,
    capabilities: entry.manifest?.capabilities.map((c) => c.name) ?? [],
    ...(entry.problem ? { problem: entry.problem } : {}),
  };
}

export function createConnectorsRouter(deps: { registry: ConnectorRegistry }): Router {
  const router = Router();
  router.get('/connectors', (_req, res) => {
    res.json({ connectors: deps.registry.list().map(describeConnector) });
  });
  return router;
}
