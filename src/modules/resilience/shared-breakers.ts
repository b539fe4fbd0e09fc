import type { Logger } from '../../kernel/logger.ts';
import type { BreakerSnapshot, SharedBreakerStore } from '../../ports/shared-breaker-store.ts';
import type { Metrics } from '../observability/metrics.ts';
import { BREAKER_STATE_VALUE } from '../observability/metrics.ts';
import { clusterVerdict } from './cluster-verdict.ts';
import type { ResilienceSettings } from './settings.ts';

/** What the cluster says of one call: send it, refuse it, or send it as the cluster's one half-open trial. */
export type Admission = 'pass' | 'refuse' | 'trial';

/** This node's own breaker, as the cluster drives it. */
export interface LocalBreaker {
  open(): void;
  close(): void;
  readonly closed: boolean;
}

/** One breaker (connector and capability) of this node, joined to the cluster's. */
export interface SharedBreaker {
  /**
   * Synchronous unless the cluster's trial is due and this node may take it (one store call).
   * `localReady`: this node's own breaker would let the call through (closed, or half-open and free).
   */
  admit(localReady: boolean): Admission | Promise<Admission>;
  /** One outcome this node's breaker counted; it reaches the cluster with the next sync. */
  record(failed: boolean): void;
  /** The trial this node sent (admitted as 'trial') ended: it closes the cluster's breaker or opens it again. */
  settleTrial(succeeded: boolean): Promise<void>;
  /** The cluster's breaker when it is open: 'open' while it holds, 'halfOpen' once its trial is due; else undefined. */
  clusterState(): 'open' | 'halfOpen' | undefined;
  /** Calls refused by the cluster's state (this node's breaker would have sent them). */
  readonly rejects: number;
}

/**
 * Breakers shared by the nodes on one store (docs/scaling.md, "Breakers across nodes"). Each node
 * counts its outcomes in memory and, every `syncMs`, sends them and reads the cluster's state back
 * for all its breakers in one round trip: the hot path never waits for the store. A cluster that
 * opens reaches every node within `syncMs`, which opens its own breaker; a node whose own breaker
 * opens syncs at once. Once the hold is over one node wins the trial (a claim in the store); the
 * others refuse until its outcome closes or re-opens the cluster's breaker. Without the store, each
 * node's breaker decides alone (logged once, `omnigate_breaker_shared_up` 0).
 */
export interface SharedBreakers {
  join(connector: string, capability: string, settings: ResilienceSettings, local: LocalBreaker): SharedBreaker;
  /** Syncs now rather than at the next interval (a local breaker just opened); resolves once done. */
  sync(): Promise<void>;
  forget(connector: string): void;
  close(): void;
}

export interface SharedBreakersDeps {
  readonly store: SharedBreakerStore;
  readonly nodeId: string;
  /** Nodes with the same scope on one store share their breakers. */
  readonly scope: string;
  readonly syncMs: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
}

interface Tracked {
  readonly key: string;
  readonly labels: { connector: string; capability: string };
  readonly settings: ResilienceSettings;
  readonly local: LocalBreaker;
  calls: number;
  failures: number;
  /** The cluster's state at the last sync; `deadline` on this node's clock. Undefined: unknown (per node). */
  mirror?: { phase: 'closed' | 'open'; generation: number; deadline: number };
  claiming: boolean;
  /** Lost a claim: no new one before the next sync tells more. */
  quiet: boolean;
  trialGeneration?: number;
  rejects: number;
  /** The last verdict found the failures one node's own (said once per spell). */
  isLocalFault: boolean;
}

export function createSharedBreakers(deps: SharedBreakersDeps): SharedBreakers {
  const { store, nodeId, metrics } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ module: 'shared-breakers' });
  const tracked = new Map<string, Tracked>();
  let isUp = true;
  let syncing = false;
  let again = false;
  metrics.breakerSharedUp.set(1);
  const timer = setInterval(() => void sync(), deps.syncMs);
  timer.unref();

  function setUp(up: boolean, err?: unknown): void {
    if (up === isUp) return;
    isUp = up;
    metrics.breakerSharedUp.set(up ? 1 : 0);
    if (up) log.info('shared breaker state reachable again: breakers follow the cluster');
    else log.warn({ err }, 'shared breaker state unreachable: each node\'s breakers decide alone');
  }

  async function sync(): Promise<void> {
    if (syncing) return void (again = true);
    syncing = true;
    try {
      const list = [...tracked.values()];
      if (list.length === 0) return;
      const reports = list.map((t) => ({ key: t.key, nodeId, calls: t.calls, failures: t.failures, windowMs: t.settings.rollingWindowMs }));
      for (const t of list) t.calls = t.failures = 0;
      let snapshots: BreakerSnapshot[];
      try {
        if (!store.isUp()) throw new Error('store is not connected');
        snapshots = await store.sync(reports);
      } catch (err) {
        setUp(false, err);
        for (const t of list) delete t.mirror;
        return;
      }
      setUp(true);
      await Promise.all(list.map((t, i) => (tracked.get(t.key) === t && snapshots[i] ? apply(t, snapshots[i]) : undefined)));
    } finally {
      syncing = false;
      if (again) {
        again = false;
        void sync();
      }
    }
  }

  /** Follows the cluster's state: opens or closes this node's breaker on a change, opens the cluster's on its verdict. */
  async function apply(t: Tracked, snapshot: BreakerSnapshot): Promise<void> {
    const before = t.mirror;
    const { phase, generation, holdMs } = snapshot.state;
    t.mirror = { phase, generation, deadline: now() + holdMs };
    t.quiet = false;
    metrics.breakerClusterState.set(t.labels, BREAKER_STATE_VALUE[phase === 'closed' ? 'closed' : holdMs > 0 ? 'open' : 'halfOpen']);
    if (phase === 'open') {
      if (before?.phase !== 'open' || before.generation !== generation) {
        if (before?.phase !== 'open') log.warn({ ...t.labels, generation }, 'cluster breaker open');
        if (t.local.closed) t.local.open();
      }
      return;
    }
    if (before?.phase === 'open') {
      log.info({ ...t.labels, generation }, 'cluster breaker closed');
      t.local.close();
      return;
    }
    const verdict = clusterVerdict(snapshot.window, t.settings);
    // One node failing while others are in the window (calling or watching): its own network, most likely.
    const isLocalFault = !verdict.open && verdict.failingNodes.length === 1 && verdict.nodes.length > 1;
    if (isLocalFault && !t.isLocalFault) log.info({ ...t.labels, calls: verdict.calls, failures: verdict.failures, failingNodes: verdict.failingNodes }, 'failures local to one node: the cluster breaker stays closed');
    t.isLocalFault = isLocalFault;
    if (!verdict.open) return;
    log.warn({ ...t.labels, calls: verdict.calls, failures: verdict.failures, failingNodes: verdict.failingNodes }, 'cluster breaker opening: failures across the cluster');
    const opened = await store.open(t.key, generation, t.settings.resetTimeoutMs).catch(() => undefined);
    if (opened) await apply(t, { state: opened, window: [] });
  }

  function shared(t: Tracked): SharedBreaker {
    return {
      admit(localReady) {
        const m = t.mirror;
        if (!m || m.phase === 'closed' || !isUp) return 'pass';
        // This node's breaker refuses by itself (and counts it) while it is open.
        if (!localReady) return 'pass';
        if (now() < m.deadline || t.claiming || t.quiet) return refuse();
        t.claiming = true;
        return store.claimTrial(t.key, m.generation, nodeId, t.settings.timeoutMs + deps.syncMs).then(
          (won): Admission => {
            if (won) t.trialGeneration = m.generation;
            else t.quiet = true;
            return won ? 'trial' : refuse();
          },
          // No store: this node's own half-open trial decides, as without a cluster.
          (): Admission => 'pass',
        ).finally(() => (t.claiming = false));
      },
      record(failed) {
        t.calls += 1;
        if (failed) t.failures += 1;
      },
      async settleTrial(succeeded) {
        const generation = t.trialGeneration;
        delete t.trialGeneration;
        if (generation === undefined) return;
        const state = await (succeeded ? store.close(t.key, generation) : store.open(t.key, generation, t.settings.resetTimeoutMs)).catch(() => undefined);
        if (state && tracked.get(t.key) === t) await apply(t, { state, window: [] });
      },
      clusterState() {
        const m = t.mirror;
        if (!m || m.phase === 'closed' || !isUp) return undefined;
        return now() < m.deadline ? 'open' : 'halfOpen';
      },
      get rejects() {
        return t.rejects;
      },
    };
    function refuse(): Admission {
      t.rejects += 1;
      return 'refuse';
    }
  }

  return {
    join(connector, capability, settings, local) {
      const key = `${deps.scope}:${connector}:${capability}`;
      const t: Tracked = { key, labels: { connector, capability }, settings, local, calls: 0, failures: 0, claiming: false, quiet: false, rejects: 0, isLocalFault: false };
      tracked.set(key, t);
      return shared(t);
    },
    sync,
    forget(connector) {
      for (const [key, t] of tracked) if (t.labels.connector === connector) tracked.delete(key);
    },
    close() {
      clearInterval(timer);
      tracked.clear();
    },
  };
}
