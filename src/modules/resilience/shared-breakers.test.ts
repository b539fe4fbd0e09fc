import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMemorySharedBreakerStore } from '../../adapters/memory/memory-shared-breaker-store.ts';
import { createLogger } from '../../kernel/logger.ts';
import type { SharedBreakerStore } from '../../ports/shared-breaker-store.ts';
import { createMetrics } from '../observability/metrics.ts';
import { DEFAULT_RETRY_BASE_MS } from './settings.ts';
import type { ResilienceSettings } from './settings.ts';
import { createSharedBreakers, type LocalBreaker } from './shared-breakers.ts';

const settings = {
  timeoutMs: 1_000, errorThresholdPercentage: 50, volumeThreshold: 10, resetTimeoutMs: 5_000, rollingWindowMs: 10_000, maxConcurrent: 8, maxQueue: 8, maxWaitMs: 10,
  retries: 0, retryBaseMs: DEFAULT_RETRY_BASE_MS, retryMaxDelayMs: 100, retryAfterCapMs: 100, retryBudgetPercent: 20, retryBudgetMinPerSec: 1, rateLimitPerSec: 100, inboundRateLimitPerSec: 100,
} satisfies ResilienceSettings;

/** Two nodes of one cluster on one in-memory store and one clock they both read. */
function cluster(store?: SharedBreakerStore) {
  let clock = 1_000_000;
  const shared = store ?? createMemorySharedBreakerStore(() => clock);
  const node = (nodeId: string) => {
    const local = { isClosed: true, opens: 0, closes: 0 };
    const breaker: LocalBreaker = {
      open: () => void ((local.isClosed = false), local.opens++),
      close: () => void ((local.isClosed = true), local.closes++),
      get closed() { return local.isClosed; },
    };
    const metrics = createMetrics();
    const breakers = createSharedBreakers({ store: shared, nodeId, scope: 'unit', syncMs: 60_000, log: createLogger({ level: 'silent' }), metrics, now: () => clock });
    const joined = breakers.join('orders-java', 'order.get', settings, breaker);
    const outcomes = (calls: number, failures: number) => {
      for (let i = 0; i < calls; i++) joined.record(i < failures);
    };
    return { local, joined, breakers, metrics, outcomes };
  };
  return { a: node('a'), b: node('b'), advance: (ms: number) => void (clock += ms) };
}

describe('breakers shared by the nodes of a cluster', () => {
  test('failures counted across nodes open the cluster breaker and, at the next sync, every node\'s own', async () => {
    const { a, b } = cluster();
    a.outcomes(5, 5);
    b.outcomes(5, 5);
    await a.breakers.sync();
    assert.equal(a.joined.clusterState(), undefined, 'five calls are below the volume');
    await b.breakers.sync();
    assert.equal(b.joined.clusterState(), 'open');
    assert.equal(b.local.opens, 1);
    assert.equal(a.local.opens, 0, 'a has not synced yet');
    await a.breakers.sync();
    assert.equal(a.local.opens, 1);
    assert.equal(a.joined.admit(true), 'refuse', 'a node whose breaker would send refuses while the cluster holds');
    assert.equal(a.joined.rejects, 1);
  });

  test('a fault local to one node opens only its own breaker: the cluster\'s stays closed for the others', async () => {
    const { a, b } = cluster();
    b.outcomes(20, 0);
    await b.breakers.sync();
    a.outcomes(20, 20);
    await a.breakers.sync();
    await b.breakers.sync();
    assert.equal(a.joined.clusterState(), undefined);
    assert.equal(b.local.opens, 0);
    assert.equal(b.joined.admit(true), 'pass');
  });

  test('once the hold is over one node wins the trial; its failure holds the cluster again, its success closes every node', async () => {
    const { a, b, advance } = cluster();
    a.outcomes(10, 10);
    b.outcomes(10, 10);
    await a.breakers.sync();
    await b.breakers.sync();
    await a.breakers.sync();
    advance(settings.resetTimeoutMs);
    assert.equal(a.joined.clusterState(), 'halfOpen');
    const [first, second] = await Promise.all([a.joined.admit(true), b.joined.admit(true)]);
    assert.deepEqual([first, second].sort(), ['refuse', 'trial'], 'exactly one trial for the cluster');
    const [winner, loser] = first === 'trial' ? [a, b] : [b, a];
    assert.equal(await loser.joined.admit(true), 'refuse', 'no second claim while the first is out');
    await winner.joined.settleTrial(false);
    assert.equal(winner.joined.clusterState(), 'open', 'a failed trial holds the cluster for another reset interval');

    advance(settings.resetTimeoutMs);
    await loser.breakers.sync();
    assert.equal(await loser.joined.admit(true), 'trial', 'the next interval has its own trial');
    await loser.joined.settleTrial(true);
    assert.equal(loser.joined.clusterState(), undefined);
    await winner.breakers.sync();
    assert.equal(winner.local.closes, 1, 'the other node closes its breaker once the cluster\'s trial succeeded');
    assert.equal(winner.joined.admit(true), 'pass');
  });

  test('without the store, each node\'s breaker decides alone and calls are never blocked', async () => {
    const store = { ...createMemorySharedBreakerStore(), isUp: () => false };
    const { a } = cluster(store);
    a.outcomes(20, 20);
    await a.breakers.sync();
    assert.equal(a.joined.admit(true), 'pass');
    assert.match(await a.metrics.registry.metrics(), /omnigate_breaker_shared_up 0/);
  });
});
