import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../kernel/logger.ts';
import type { DispatchStore, GroupStats } from '../../ports/dispatch-store.ts';
import { withDeadline } from './queue-stats.ts';

export interface QueueMetricsDeps {
  readonly registry: Registry;
  readonly store: Pick<DispatchStore, 'stats'>;
  readonly log: Logger;
  readonly now: () => number;
  /** A scrape waits this long for the store; past it (or on an error) the dispatch series are left out of that scrape and `omnigate_dispatch_stats_up` is 0. */
  readonly timeoutMs: number;
}

const CLUSTER_WIDE = 'read from the shared dispatch store at scrape time: every node reports the same cluster-wide count (take one node\'s, or max; never sum across nodes)';
const STATUSES = ['online', 'away', 'offline'] as const;

/**
 * The per-group dispatch numbers on the gateway's registry, read from the store when Prometheus
 * scrapes (one read per scrape, shared by every series), so they are the cluster's, not this node's.
 * A slow or absent store never holds /metrics longer than `timeoutMs`.
 */
export function registerQueueMetrics(deps: QueueMetricsDeps): void {
  const log = deps.log.child({ module: 'queue-metrics' });
  const registers = [deps.registry];
  let scrape: Promise<{ stats: readonly GroupStats[]; nowMs: number } | undefined> | undefined;
  // Every series' collect runs in the same tick of a scrape: they share one read.
  const read = () =>
    (scrape ??= (async () => {
      const nowMs = deps.now();
      try {
        const stats = await withDeadline(deps.store.stats(nowMs), deps.timeoutMs);
        if (stats === undefined) log.warn({ timeoutMs: deps.timeoutMs }, 'dispatch numbers left out of this scrape: the store did not answer in time');
        return stats && { stats, nowMs };
      } catch (err) {
        log.warn({ err }, 'dispatch numbers left out of this scrape: the store failed');
        return undefined;
      }
    })().finally(() => (scrape = undefined)));

  // Each metric's series are the store's, set afresh at each scrape: a group that is gone disappears.
  const gauge = (name: string, help: string, fill: (m: Gauge, g: GroupStats, nowMs: number) => void, labelNames = ['group']) =>
    new Gauge({ name, help, labelNames, registers, async collect() {
      const snapshot = await read();
      this.reset();
      snapshot?.stats.forEach((g) => fill(this, g, snapshot.nowMs));
    } });
  const counter = (name: string, help: string, fill: (m: Counter, g: GroupStats) => void, labelNames = ['group']) =>
    new Counter({ name, help, labelNames, registers, async collect() {
      const snapshot = await read();
      this.reset();
      snapshot?.stats.forEach((g) => fill(this, g));
    } });

  gauge('omnigate_dispatch_queue_length', `Conversations waiting in the group's queue (offered ones excluded); ${CLUSTER_WIDE}`, (m, g) => m.set({ group: g.group }, g.queued));
  gauge('omnigate_dispatch_longest_wait_seconds', `How long the longest-waiting queued conversation has waited (0 when none); ${CLUSTER_WIDE}`, (m, g, nowMs) =>
    m.set({ group: g.group }, g.oldestEnqueuedAtMs === undefined ? 0 : Math.max(0, nowMs - g.oldestEnqueuedAtMs) / 1000),
  );
  gauge('omnigate_dispatch_open_offers', `Offers waiting for their agent's answer; ${CLUSTER_WIDE}`, (m, g) => m.set({ group: g.group }, g.openOffers));
  counter('omnigate_dispatch_offers_total', `Offers by outcome: made (every offer), then how they ended: accepted, declined, expired; ${CLUSTER_WIDE}`, (m, g) => {
    const { offered, accepted, declined, expired } = g.counters;
    for (const [outcome, value] of [['made', offered], ['accepted', accepted], ['declined', declined], ['expired', expired]] as const) m.inc({ group: g.group, outcome }, value);
  }, ['group', 'outcome']);
  counter('omnigate_dispatch_assignments_total', `Conversations assigned to an agent (rate() gives assignments per second); ${CLUSTER_WIDE}`, (m, g) => m.inc({ group: g.group }, g.counters.assigned));
  counter('omnigate_dispatch_overflows_total', `Conversations sent on from the group (another group, or leave a message); ${CLUSTER_WIDE}`, (m, g) => m.inc({ group: g.group }, g.counters.overflowed));
  gauge('omnigate_dispatch_agents', `The group's agents by status (an agent in two groups counts in both); ${CLUSTER_WIDE}`, (m, g) => {
    for (const status of STATUSES) m.set({ group: g.group, status }, g.agents[status]);
  }, ['group', 'status']);
  gauge('omnigate_dispatch_agent_load', `Conversations the group's agents hold (any status), offers included; ${CLUSTER_WIDE}`, (m, g) => m.set({ group: g.group }, g.agents.load));
  gauge('omnigate_dispatch_agent_capacity', `The sum of the group's online agents' maximum concurrent conversations; ${CLUSTER_WIDE}`, (m, g) => m.set({ group: g.group }, g.agents.capacity));
  new Gauge({
    name: 'omnigate_dispatch_stats_up',
    help: 'Whether this scrape read the dispatch numbers from the store (1) or not (0: it failed or was slower than its timeout; the other omnigate_dispatch_* series are left out)',
    registers,
    async collect() {
      this.set((await read()) ? 1 : 0);
    },
  });
}
