import type { Logger } from '../../kernel/logger.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { Lifecycle } from '../connectors/lifecycle.ts';
import type { ConnectorRegistry, Problem } from '../connectors/registry.ts';
import { packageKey, type DesiredStates } from './desired-state.ts';

/** Who the audit trail names for a change a node makes to follow the cluster's desired state. */
export const CLUSTER_ACTOR = 'system@cluster';

/**
 * Brings this node to the cluster's desired state, connector by connector: installs the desired
 * version from its tarball, or removes the connector, wherever what the node loaded from its
 * folder and store differs. Never throws: a connector it cannot bring there keeps what it has,
 * and comes back in the problems (by connector) that /v1/connectors shows.
 */
export async function converge(deps: { desired: DesiredStates; blobs: BlobStore; registry: Pick<ConnectorRegistry, 'get'>; lifecycle: Lifecycle; log: Logger }): Promise<Map<string, Problem>> {
  const { registry, lifecycle, log } = deps;
  const problems = new Map<string, Problem>();
  const fail = (connector: string, message: string) => {
    log.warn({ connector, problem: message }, "could not bring a connector to the cluster's desired state: it keeps what this node has");
    problems.set(connector, { stage: 'load', message: `not as the cluster wants it: ${message}`, at: new Date().toISOString() });
  };
  let states;
  try {
    states = await deps.desired.all();
  } catch (err) {
    log.warn({ err }, "could not read the cluster's desired state: this node serves what its folder and store hold");
    return problems;
  }
  for (const desired of states) {
    const { connector } = desired;
    try {
      if (desired.state === 'removed') {
        if (!registry.get(connector)) continue;
        const outcome = await lifecycle.execute({ action: 'remove', connector, actor: CLUSTER_ACTOR });
        if (outcome.result !== 'ok') fail(connector, `remove failed: ${outcome.problem?.message}`);
        continue;
      }
      if (registry.get(connector)?.active?.version === desired.version) continue;
      const tarball = await deps.blobs.get(packageKey(desired.package));
      if (!tarball) {
        fail(connector, `the package of version ${desired.version} is gone from Redis`);
        continue;
      }
      const outcome = await lifecycle.execute({ action: 'install', connector, tarball, actor: CLUSTER_ACTOR });
      if (outcome.result !== 'ok') fail(connector, `install of ${desired.version} failed at ${outcome.problem?.stage}: ${outcome.problem?.message}`);
    } catch (err) {
      fail(connector, (err as Error).message);
    }
  }
  if (states.length > 0) log.info({ connectors: states.length, problems: problems.size }, "brought this node to the cluster's desired state");
  return problems;
}
