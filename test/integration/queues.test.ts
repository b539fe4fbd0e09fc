import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisDispatchStore } from '../../src/adapters/redis/redis-dispatch-store.ts';
import type { DispatchAgent, DispatchStore, RankedEntry } from '../../src/ports/dispatch-store.ts';
import type { QueuesView } from '../../src/modules/dispatch/queue-stats.ts';
import { agentToken, CHAT_ENV, visitorSession } from '../support/chat-principals.ts';
import { perTestGateways } from '../support/gateway.ts';
import { TEST_REDIS_URL } from '../support/ports.ts';
import { assertMatchesSpec, assertSseMessageMatchesSpec } from '../support/spec.ts';
import { readSse } from '../support/sse.ts';

// The gateway reads the dispatch store every node shares (the default prefix on the test Redis);
// the test writes to it through the same adapter, in a group of its own.
const ENV = { ...CHAT_ENV, OMNIGATE_QUEUES_STREAM_INTERVAL_MS: '50' };
const { gateway } = perTestGateways();
let redis: Redis;
let store: DispatchStore;
before(async () => {
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  store = createRedisDispatchStore({ client: redis });
});
after(async () => void (await redis.quit()));

const newGroup = () => `queues-${randomUUID().slice(0, 8)}`;
const agentIn = (group: string, agentId: string, extra: Partial<DispatchAgent> = {}): DispatchAgent => ({
  agentId: `${group}-${agentId}`, groups: [group], skills: [], languages: ['en'], maxConcurrent: 2, status: 'online', ...extra,
});
const entryIn = (group: string, conversationId: string, enqueuedAtMs: number): RankedEntry => ({
  conversationId: `${group}-${conversationId}`, group, priority: 0, enqueuedAtMs, skills: [], rank: enqueuedAtMs,
});
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const supervisor = async () => bearer(await agentToken(`sup-${randomUUID()}`, { role: 'supervisor' }));

/** A group with two agents (one online, one away), three waiting, one offered, accepted and assigned. */
async function seed(group: string) {
  const now = Date.now();
  await store.setAgent(agentIn(group, 'ada'), now);
  await store.setAgent(agentIn(group, 'bob', { status: 'away', maxConcurrent: 5 }), now);
  for (const [i, id] of ['c1', 'c2', 'c3'].entries()) await store.enqueue(entryIn(group, id, now - 60_000 + i));
  const claimed = await store.claim(group, { nowMs: now, offerTtlMs: 60_000, autoAssign: false, scanDepth: 10 });
  assert.ok(claimed, 'the online agent gets an offer');
  await store.accept(claimed.offer.offerId, claimed.offer.agentId, now);
  await store.confirm(claimed.offer.offerId);
  return { oldestEnqueuedAtMs: now - 60_000 + 1 };
}

const groupIn = (view: QueuesView, group: string) => view.queues.find((q) => q.group === group);

describe('GET /v1/queues', () => {
  test('shows a supervisor, and a service key, every group\'s queue, offers, assignments and agents from the shared store', async () => {
    const gw = await gateway(ENV);
    const group = newGroup();
    const { oldestEnqueuedAtMs } = await seed(group);
    for (const headers of [await supervisor(), {}]) {
      const res = await gw.api('/v1/queues', { headers });
      assert.equal(res.status, 200);
      const view = (await assertMatchesSpec(res, 'listQueues')) as QueuesView;
      const numbers = groupIn(view, group);
      assert.ok(numbers, `no ${group} in ${JSON.stringify(view)}`);
      const { longestWaitMs, ...rest } = numbers;
      assert.ok(longestWaitMs >= 59_000, `longest wait ${longestWaitMs} ms`);
      assert.deepEqual(rest, {
        group, queued: 2, oldestEnqueuedAt: new Date(oldestEnqueuedAtMs).toISOString(), openOffers: 0,
        offers: { made: 1, accepted: 1, declined: 0, expired: 0 },
        assignments: { total: 1, lastMinute: 1, perSecond: 0.017 },
        overflowed: 0,
        agents: { online: 1, away: 1, offline: 0, load: 1, capacity: 2 },
      });
    }
  });

  test('refuses an agent without the supervisor role and a visitor (403), and a caller without credentials (401)', async () => {
    const gw = await gateway(ENV);
    const agent = bearer(await agentToken(`agent-${randomUUID()}`));
    const visitor = bearer((await visitorSession(gw)).token);
    for (const path of ['/v1/queues', '/v1/queues/stream']) {
      for (const headers of [agent, visitor]) {
        const res = await gw.api(path, { headers });
        assert.equal(res.status, 403, path);
        assert.equal((await assertMatchesSpec(res, path.endsWith('stream') ? 'streamQueues' : 'listQueues')).code, 'FORBIDDEN');
      }
      const anonymous = await fetch(`${gw.url}${path}`);
      assert.equal(anonymous.status, 401);
      assert.equal(((await anonymous.json()) as { code: string }).code, 'UNAUTHENTICATED');
    }
  });
});

describe('GET /v1/queues/stream', () => {
  test('sends the numbers at once, then an event when they change', async () => {
    const gw = await gateway(ENV);
    const group = newGroup();
    await seed(group);
    const res = await gw.api('/v1/queues/stream', { headers: await supervisor() });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const sse = readSse(res);
    try {
      const queuedIn = (data: string) => groupIn(JSON.parse(data) as QueuesView, group)?.queued;
      const first = await sse.next((m) => m.event === 'queues' && queuedIn(m.data) !== undefined);
      assertSseMessageMatchesSpec(first, 'streamQueues');
      assert.equal(queuedIn(first.data), 2);
      await store.enqueue(entryIn(group, 'c4', Date.now()));
      const changed = await sse.next((m) => m.event === 'queues' && queuedIn(m.data) === 3);
      assertSseMessageMatchesSpec(changed, 'streamQueues');
    } finally {
      await sse.close();
    }
  });

  test('ends with event: shutdown when the node stops', async () => {
    const gw = await gateway(ENV);
    const sse = readSse(await gw.api('/v1/queues/stream'));
    await sse.next((m) => m.event === 'queues');
    await gw.stop();
    const shutdown = await sse.next((m) => m.event === 'shutdown');
    assertSseMessageMatchesSpec(shutdown, 'streamQueues');
    await sse.ended;
  });
});

describe('dispatch metrics', () => {
  test('/metrics has every group\'s numbers from the shared store, by group (and outcome, status)', async () => {
    const gw = await gateway(ENV);
    const group = newGroup();
    await seed(group);
    const text = await (await gw.api('/metrics')).text();
    const g = `group="${group}"`;
    for (const line of [
      `omnigate_dispatch_queue_length{${g}} 2`,
      `omnigate_dispatch_open_offers{${g}} 0`,
      `omnigate_dispatch_offers_total{${g},outcome="made"} 1`,
      `omnigate_dispatch_offers_total{${g},outcome="accepted"} 1`,
      `omnigate_dispatch_offers_total{${g},outcome="expired"} 0`,
      `omnigate_dispatch_assignments_total{${g}} 1`,
      `omnigate_dispatch_agents{${g},status="online"} 1`,
      `omnigate_dispatch_agents{${g},status="away"} 1`,
      `omnigate_dispatch_agent_load{${g}} 1`,
      `omnigate_dispatch_agent_capacity{${g}} 2`,
      'omnigate_dispatch_stats_up 1',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing: ${line}`);
    }
    const wait = new RegExp(`^omnigate_dispatch_longest_wait_seconds\\{${g}\\} (\\S+)$`, 'm').exec(text);
    assert.ok(wait && Number(wait[1]) >= 59, `longest wait: ${wait?.[1]}`);
  });

  test('every node reports the same cluster-wide numbers, and a change shows at the next scrape of any node', async () => {
    const [one, two] = await Promise.all([gateway(ENV), gateway(ENV)]);
    const group = newGroup();
    await seed(group);
    await store.enqueue(entryIn(group, 'c4', Date.now()));
    for (const gw of [one, two]) {
      const text = await (await gw.api('/metrics')).text();
      for (const line of [`omnigate_dispatch_queue_length{group="${group}"} 3`, `omnigate_dispatch_assignments_total{group="${group}"} 1`]) assert.ok(text.split('\n').includes(line), `missing: ${line}`);
    }
  });
});
