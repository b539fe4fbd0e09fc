import { Router } from 'express';
import type { ConnectorEntry, ConnectorRegistry, Problem } from './registry.ts';

/** Live resilience state of a connector (breakers, bulkhead), when the core has any. */
export type ResilienceView = (connector: string) => object | undefined;

/** Connectors this node could not bring to the cluster's desired state, with why. */
export type ClusterProblems = () => ReadonlyMap<string, Problem>;

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

export function createConnectorsRouter(deps: { registry: ConnectorRegistry; resilience?: ResilienceView; clusterProblems?: ClusterProblems }): Router {
  const router = Router();
  router.get('/connectors', (_req, res) => {
    const entries = deps.registry.list();
    const apart = deps.clusterProblems?.() ?? new Map<string, Problem>();
    // Its own problem first; a connector the cluster wants that this node could not install at all is listed as failed.
    const connectors = entries.map((entry) => describeConnector(!entry.problem && apart.has(entry.name) ? { ...entry, problem: apart.get(entry.name)! } : entry, deps.resilience));
    for (const [name, problem] of apart) {
      if (!entries.some((e) => e.name === name)) connectors.push(describeConnector({ name, state: 'failed', problem, restarts: 0 }));
    }
    res.json({ connectors, sharedCapabilities: deps.registry.sharedCapabilities() });
  });
  return router;
}
