import type { NodeCounts } from '../../ports/shared-breaker-store.ts';

/** The part of a connector's settings the cluster's decision reads (the same as each node's breaker). */
export interface VerdictRule {
  readonly errorThresholdPercentage: number;
  readonly volumeThreshold: number;
}

/** Whether the cluster's window opens the shared breaker, and why, for the log. */
export interface ClusterVerdict {
  readonly open: boolean;
  readonly reason: 'volume' | 'rate' | 'local' | 'cluster';
  readonly calls: number;
  readonly failures: number;
  /** The nodes whose own failure rate is past the threshold. */
  readonly failingNodes: readonly string[];
  /** The nodes in the window (that called, or watch the breaker). */
  readonly nodes: readonly string[];
}

/**
 * Opens when the cluster-wide failure rate is past the threshold (strictly, as opossum does) over
 * at least `volumeThreshold` calls, AND the failures are not one node's own: at least two nodes
 * fail (their own rate past the threshold), or every node in the window does. A node whose own
 * network fails while the others succeed opens only its own breaker ('local').
 */
export function clusterVerdict(window: readonly NodeCounts[], rule: VerdictRule): ClusterVerdict {
  let calls = 0;
  let failures = 0;
  for (const n of window) {
    calls += n.calls;
    failures += n.failures;
  }
  const rate = (c: number, f: number) => (c === 0 ? 0 : (f / c) * 100);
  const failingNodes = window.filter((n) => n.failures > 0 && rate(n.calls, n.failures) > rule.errorThresholdPercentage).map((n) => n.nodeId);
  const nodes = window.map((n) => n.nodeId);
  const base = { calls, failures, failingNodes, nodes };
  if (calls < rule.volumeThreshold) return { open: false, reason: 'volume', ...base };
  if (rate(calls, failures) <= rule.errorThresholdPercentage) return { open: false, reason: 'rate', ...base };
  if (failingNodes.length >= 2 || failingNodes.length === nodes.length) return { open: true, reason: 'cluster', ...base };
  return { open: false, reason: 'local', ...base };
}
