import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../../kernel/logger.ts';
import type { GroupStats } from '../../ports/dispatch-store.ts';
import { registerQueueMetrics } from './queue-metrics.ts';

const T0 = 1_764_669_600_000;
const log = createLogger({ level: 'silent' });

const orders: GroupStats = {
  group: 'orders', queued: 4, oldestEnqueuedAtMs: T0 - 12_500, openOffers: 2,
  agents: { online: 3, away: 1, offline: 0, load: 5, capacity: 12 },
  counters: { offered: 20, accepted: 15, declined: 2, expired: 1, assigned: 14, overflowed: 3 },
  assignedLastMinute: 6,
};

/** A registry with the dispatch metrics over a store whose `stats` answers `answer()`, counting its reads. */
function scraper(answer: () => Promise<GroupStats[]>, timeoutMs = 1_000) {
  const registry = new Registry();
  const reads = { count: 0 };
  registerQueueMetrics({ registry, log, now: () => T0, timeoutMs, store: { stats: () => (reads.count++, answer()) } });
  return { scrape: () => registry.metrics(), reads };
}

describe('dispatch metrics', () => {
  test('every group\'s numbers are series labelled by group, read once per scrape', async () => {
    const { scrape, reads } = scraper(async () => [orders]);
    const text = await scrape();
    assert.equal(reads.count, 1);
    for (const line of [
      'omnigate_dispatch_queue_length{group="orders"} 4',
      'omnigate_dispatch_longest_wait_seconds{group="orders"} 12.5',
      'omnigate_dispatch_open_offers{group="orders"} 2',
      'omnigate_dispatch_offers_total{group="orders",outcome="made"} 20',
      'omnigate_dispatch_offers_total{group="orders",outcome="accepted"} 15',
      'omnigate_dispatch_offers_total{group="orders",outcome="declined"} 2',
      'omnigate_dispatch_offers_total{group="orders",outcome="expired"} 1',
      'omnigate_dispatch_assignments_total{group="orders"} 14',
      'omnigate_dispatch_overflows_total{group="orders"} 3',
      'omnigate_dispatch_agents{group="orders",status="online"} 3',
      'omnigate_dispatch_agents{group="orders",status="away"} 1',
      'omnigate_dispatch_agents{group="orders",status="offline"} 0',
      'omnigate_dispatch_agent_load{group="orders"} 5',
      'omnigate_dispatch_agent_capacity{group="orders"} 12',
      'omnigate_dispatch_stats_up 1',
      '# TYPE omnigate_dispatch_assignments_total counter',
      '# TYPE omnigate_dispatch_offers_total counter',
      '# TYPE omnigate_dispatch_queue_length gauge',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
    }
    assert.match(text, /# HELP omnigate_dispatch_assignments_total .*cluster-wide.*never sum across nodes/);
  });

  test('the counters show the store\'s counts as they are, scrape after scrape, and a group that is gone disappears', async () => {
    let stats = [orders, { ...orders, group: 'sales' }];
    const { scrape } = scraper(async () => stats);
    await scrape();
    stats = [{ ...orders, counters: { ...orders.counters, assigned: 17 } }];
    const text = await scrape();
    assert.ok(text.includes('omnigate_dispatch_assignments_total{group="orders"} 17'), text);
    assert.ok(!text.includes('group="sales"'), text);
  });

  test('a store slower than the timeout leaves the dispatch series out of that scrape and says so', async () => {
    const { scrape } = scraper(() => new Promise(() => undefined), 20);
    const text = await scrape();
    assert.ok(text.includes('omnigate_dispatch_stats_up 0'), text);
    assert.ok(!text.includes('omnigate_dispatch_queue_length{'), text);
  });

  test('a failing store leaves them out too, and the next scrape has them back', async () => {
    let fail = true;
    const { scrape } = scraper(async () => {
      if (fail) throw new Error('redis away');
      return [orders];
    });
    assert.ok((await scrape()).includes('omnigate_dispatch_stats_up 0'));
    fail = false;
    const text = await scrape();
    assert.ok(text.includes('omnigate_dispatch_stats_up 1'), text);
    assert.ok(text.includes('omnigate_dispatch_queue_length{group="orders"} 4'), text);
  });
});
