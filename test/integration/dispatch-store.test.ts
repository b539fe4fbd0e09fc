import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isAppError } from '../../src/kernel/errors.ts';
import type { DispatchStore } from '../../src/ports/dispatch-store.ts';
import { DISPATCH_TARGETS, dispatchAgent as agent, dispatchStoreOn, rankedEntry as entry, testDispatchPrefix, type DispatchConnection } from '../support/dispatch-stores.ts';

// One suite for the DispatchStore port, run against the test Redis and the three-master Redis
// Cluster of the test run; every test has a key prefix of its own. Times are given, not read.
const T0 = 1_800_000_000_000;
const claim = (store: DispatchStore, group = 'sales', extra: Partial<Parameters<DispatchStore['claim']>[1]> = {}) =>
  store.claim(group, { nowMs: T0 + 10_000, offerTtlMs: 30_000, autoAssign: false, scanDepth: 50, ...extra });
const refusedWith = (code: string) => (err: unknown) => isAppError(err) && err.code === code;
const loadOf = async (store: DispatchStore, agentId: string) => (await store.agents()).find((a) => a.agentId === agentId)?.load;

for (const [name, connect] of Object.entries(DISPATCH_TARGETS)) {
  describe(`DispatchStore conformance: ${name}`, () => {
    let connection: DispatchConnection;
    const fresh = () => dispatchStoreOn(connection, testDispatchPrefix());
    before(async () => void (connection = await connect()));
    after(async () => connection.close());

    test('enqueues a conversation once, reads its entry back and dequeues it', async () => {
      const store = fresh();
      const queued = entry('c-1', T0, { priority: 50, skills: ['billing'], language: 'de', stickyAgentId: 'a-9', excluded: ['a-2'] });
      assert.equal(await store.enqueue(queued), true);
      assert.equal(await store.enqueue({ ...queued, rank: 1 }), false, 'queued already: nothing changes');
      assert.deepEqual(await store.entry('c-1'), queued);
      assert.deepEqual(await store.queue('sales', 10), [queued]);
      assert.deepEqual(await store.dequeue('c-1'), queued);
      assert.equal(await store.entry('c-1'), undefined);
      assert.equal(await store.dequeue('c-1'), undefined);
      assert.deepEqual(await store.queue('sales', 10), []);
      assert.equal(await store.enqueue(queued), true, 'a dequeued conversation may come back');
    });

    test('serves in rank order: a later VIP before an earlier standard, an old standard before a much later VIP (ageing)', async () => {
      const store = fresh();
      // rank = enqueuedAt − priority × 1000: VIP +50 is worth 50 s of waiting.
      await store.enqueue(entry('standard-old', T0, { enqueuedAtMs: T0 }));
      await store.enqueue(entry('vip-soon', T0 + 10_000 - 50_000, { enqueuedAtMs: T0 + 10_000, priority: 50 }));
      await store.enqueue(entry('vip-late', T0 + 90_000 - 50_000, { enqueuedAtMs: T0 + 90_000, priority: 50 }));
      await store.enqueue(entry('standard-new', T0 + 20_000, { enqueuedAtMs: T0 + 20_000 }));
      assert.deepEqual((await store.queue('sales', 10)).map((e) => e.conversationId), ['vip-soon', 'standard-old', 'standard-new', 'vip-late']);
      assert.deepEqual((await store.queue('sales', 2)).map((e) => e.conversationId), ['vip-soon', 'standard-old']);
      const positions = await store.positions(['vip-late', 'standard-old', 'unknown']);
      assert.deepEqual([...positions].sort(), [['standard-old', { group: 'sales', position: 2 }], ['vip-late', { group: 'sales', position: 4 }]]);
      await store.setAgent(agent('a-1', { maxConcurrent: 10 }), T0);
      const order = [];
      for (let outcome = await claim(store); outcome; outcome = await claim(store)) order.push(outcome.entry.conversationId);
      assert.deepEqual(order, ['vip-soon', 'standard-old', 'standard-new', 'vip-late']);
      assert.deepEqual(await store.positions(['vip-late']), new Map(), 'offered: no longer in the queue');
    });

    test('offers to the least busy agent, ties to the longest idle, and says who else was eligible', async () => {
      const store = fresh();
      await store.setAgent(agent('a-1'), T0 + 1_000);
      await store.setAgent(agent('a-2'), T0 + 2_000);
      await store.setAgent(agent('a-3'), T0 + 3_000);
      for (let i = 0; i < 4; i++) await store.enqueue(entry(`c-${i}`, T0 + i));
      const first = await claim(store, 'sales', { nowMs: T0 + 5_000 });
      assert.equal(first?.offer.agentId, 'a-1');
      assert.equal(first?.reason, 'least_busy');
      assert.deepEqual(first?.candidates, [
        { agentId: 'a-1', load: 0, maxConcurrent: 3, idleSinceMs: T0 + 1_000 },
        { agentId: 'a-2', load: 0, maxConcurrent: 3, idleSinceMs: T0 + 2_000 },
        { agentId: 'a-3', load: 0, maxConcurrent: 3, idleSinceMs: T0 + 3_000 },
      ]);
      assert.deepEqual(first?.offer, { offerId: first?.offer.offerId, conversationId: 'c-0', agentId: 'a-1', group: 'sales', madeAtMs: T0 + 5_000, expiresAtMs: T0 + 35_000, state: 'open' });
      assert.equal((await claim(store, 'sales', { nowMs: T0 + 6_000 }))?.offer.agentId, 'a-2');
      assert.equal((await claim(store, 'sales', { nowMs: T0 + 7_000 }))?.offer.agentId, 'a-3');
      // All at load 1 now: a-1 has had nothing new for longest.
      const fourth = await claim(store, 'sales', { nowMs: T0 + 8_000 });
      assert.equal(fourth?.offer.agentId, 'a-1');
      assert.deepEqual(fourth?.candidates.map((c) => [c.agentId, c.load, c.idleSinceMs]), [['a-1', 1, T0 + 5_000], ['a-2', 1, T0 + 6_000], ['a-3', 1, T0 + 7_000]]);
      const loads = await store.agents('sales');
      assert.deepEqual(loads.map((a) => [a.agentId, a.load, a.idleSinceMs, a.misses]), [['a-1', 2, T0 + 8_000, 0], ['a-2', 1, T0 + 6_000, 0], ['a-3', 1, T0 + 7_000, 0]]);
    });

    test('offers to the sticky agent first while it is eligible, else to the least busy', async () => {
      const store = fresh();
      await store.setAgent(agent('free'), T0);
      await store.setAgent(agent('known', { maxConcurrent: 5 }), T0 + 1);
      await store.take('held', 'known', { nowMs: T0 + 2, force: false });
      await store.enqueue(entry('c-1', T0, { stickyAgentId: 'known' }));
      const sticky = await claim(store);
      assert.deepEqual([sticky?.offer.agentId, sticky?.reason, sticky?.candidates.map((c) => c.agentId)], ['known', 'sticky', ['known', 'free']]);
      await store.setAgent(agent('known', { maxConcurrent: 5, status: 'away' }), T0 + 3);
      await store.enqueue(entry('c-2', T0 + 1, { stickyAgentId: 'known' }));
      const fallback = await claim(store);
      assert.deepEqual([fallback?.offer.agentId, fallback?.reason], ['free', 'least_busy']);
      await store.rememberAgent('customer:42', 'known');
      assert.equal(await store.lastAgent('customer:42'), 'known');
      assert.equal(await store.lastAgent('customer:43'), undefined);
    });

    test('matches skills, language and exclusions, passing over entries nobody free can take', async () => {
      const store = fresh();
      await store.setAgent(agent('en-sales'), T0);
      await store.setAgent(agent('de-billing', { skills: ['billing', 'refunds'], languages: ['de', 'en'] }), T0 + 1);
      await store.setAgent(agent('other-group', { groups: ['support'], skills: ['billing', 'legal'], languages: ['de', 'fr'] }), T0 + 2);
      await store.enqueue(entry('needs-legal', T0, { skills: ['legal'] }));
      await store.enqueue(entry('needs-fr', T0 + 1, { language: 'fr' }));
      await store.enqueue(entry('needs-billing-de', T0 + 2, { skills: ['billing'], language: 'de' }));
      await store.enqueue(entry('not-en-sales', T0 + 3, { excluded: ['en-sales', 'de-billing'] }));
      await store.enqueue(entry('anyone', T0 + 4));
      assert.equal(await claim(store, 'sales', { scanDepth: 2 }), undefined, 'the first two need what no sales agent has');
      const billing = await claim(store);
      assert.deepEqual([billing?.entry.conversationId, billing?.offer.agentId, billing?.passedOver, billing?.candidates.map((c) => c.agentId)], ['needs-billing-de', 'de-billing', 2, ['de-billing']]);
      const anyone = await claim(store);
      assert.deepEqual([anyone?.entry.conversationId, anyone?.offer.agentId, anyone?.passedOver], ['anyone', 'en-sales', 3]);
      assert.equal(await claim(store), undefined);
      assert.deepEqual((await store.queue('sales', 10)).map((e) => e.conversationId), ['needs-legal', 'needs-fr', 'not-en-sales']);
    });

    test('never offers to an away or offline agent, nor beyond an agent\'s maximum', async () => {
      const store = fresh();
      await store.setAgent(agent('a-1', { maxConcurrent: 2 }), T0);
      await store.setAgent(agent('away', { status: 'away' }), T0);
      await store.setAgent(agent('offline', { status: 'offline' }), T0);
      for (let i = 0; i < 4; i++) await store.enqueue(entry(`c-${i}`, T0 + i));
      assert.equal((await claim(store))?.offer.agentId, 'a-1');
      assert.equal((await claim(store))?.offer.agentId, 'a-1');
      assert.equal(await claim(store), undefined, 'a-1 is full, the others are not online');
      assert.equal(await loadOf(store, 'a-1'), 2);
      assert.equal(await store.release('c-0', 'a-1'), true);
      assert.equal(await store.release('c-0', 'a-1'), false, 'it no longer holds it');
      assert.equal((await claim(store))?.offer.agentId, 'a-1');
      await store.setAgent(agent('away', { status: 'online' }), T0 + 100);
      const back = await claim(store);
      assert.deepEqual([back?.offer.agentId, back?.candidates[0]?.idleSinceMs], ['away', T0 + 100]);
    });

    test('accept makes the offer accepted once, for its agent only, until it expires; confirm ends it', async () => {
      const store = fresh();
      await store.setAgent(agent('a-1'), T0);
      await store.setAgent(agent('a-2', { status: 'away' }), T0);
      await store.enqueue(entry('c-1', T0));
      await store.enqueue(entry('c-2', T0 + 1));
      const first = await claim(store);
      const second = await claim(store);
      assert.ok(first && second);
      await assert.rejects(store.accept(first.offer.offerId, 'a-2', T0 + 11_000), refusedWith('OFFER_EXPIRED'), 'not its offer');
      await assert.rejects(store.accept('no-such-offer', 'a-1', T0 + 11_000), refusedWith('OFFER_EXPIRED'));
      await assert.rejects(store.accept(second.offer.offerId, 'a-1', second.offer.expiresAtMs), refusedWith('OFFER_EXPIRED'), 'past its expiry');
      const accepted = await store.accept(first.offer.offerId, 'a-1', T0 + 11_000);
      assert.deepEqual(accepted, { ...first.offer, state: 'accepted', acceptedAtMs: T0 + 11_000 });
      await assert.rejects(store.accept(first.offer.offerId, 'a-1', T0 + 11_001), refusedWith('OFFER_EXPIRED'), 'accepted already');
      assert.equal(await store.entry('c-1'), undefined, 'an accepted conversation has left the queue for good');
      assert.deepEqual(await store.unconfirmed(T0 + 12_000, 1_000, 10), [accepted]);
      assert.deepEqual(await store.unconfirmed(T0 + 11_500, 1_000, 10), [], 'not old enough yet');
      await store.confirm(first.offer.offerId);
      await store.confirm(first.offer.offerId);
      assert.deepEqual(await store.unconfirmed(T0 + 60_000, 1_000, 10), []);
      assert.equal(await loadOf(store, 'a-1'), 2, 'the confirmed conversation and the open offer');
      const [stats] = await store.stats(T0 + 20_000);
      assert.deepEqual([stats?.counters.offered, stats?.counters.accepted, stats?.counters.assigned, stats?.assignedLastMinute, stats?.openOffers], [2, 1, 1, 1, 1]);
      assert.equal((await store.stats(T0 + 72_000))[0]?.assignedLastMinute, 0, 'a minute later');
    });

    test('decline puts the entry back at its rank with the agent excluded and its load down', async () => {
      const store = fresh();
      await store.setAgent(agent('a-1'), T0);
      await store.setAgent(agent('a-2'), T0 + 1);
      await store.enqueue(entry('c-1', T0));
      await store.enqueue(entry('c-2', T0 + 1));
      const offered = await claim(store);
      assert.ok(offered);
      assert.equal(offered.offer.agentId, 'a-1');
      await assert.rejects(store.decline(offered.offer.offerId, 'a-2', T0 + 11_000), refusedWith('OFFER_EXPIRED'));
      assert.deepEqual(await store.decline(offered.offer.offerId, 'a-1', T0 + 11_000), offered.offer);
      await assert.rejects(store.decline(offered.offer.offerId, 'a-1', T0 + 11_000), refusedWith('OFFER_EXPIRED'), 'declined already');
      assert.deepEqual(await store.entry('c-1'), { ...offered.entry, excluded: ['a-1'] });
      assert.deepEqual(await store.positions(['c-1', 'c-2']), new Map([['c-1', { group: 'sales', position: 1 }], ['c-2', { group: 'sales', position: 2 }]]));
      assert.equal(await loadOf(store, 'a-1'), 0);
      const again = await claim(store);
      assert.deepEqual([again?.entry.conversationId, again?.offer.agentId], ['c-1', 'a-2']);
      assert.equal((await store.stats(T0))[0]?.counters.declined, 1);
    });

    test('expire ends open offers past their time: entry back at its rank, agent excluded, its misses counted', async () => {
      const store = fresh();
      await store.setAgent(agent('a-1', { maxConcurrent: 1 }), T0);
      await store.enqueue(entry('c-1', T0));
      await store.enqueue(entry('c-2', T0 + 1));
      const first = await claim(store, 'sales', { nowMs: T0, offerTtlMs: 1_000 });
      assert.deepEqual(await store.expire(T0 + 999, 10), [], 'not yet');
      const expired = await store.expire(T0 + 1_000, 10);
      assert.deepEqual(expired, [{ offer: first?.offer, misses: 1 }]);
      assert.deepEqual(await store.expire(T0 + 1_000, 10), [], 'once');
      assert.deepEqual(await store.entry('c-1'), { ...first?.entry, excluded: ['a-1'] });
      assert.equal((await store.positions(['c-1'])).get('c-1')?.position, 1);
      assert.equal(await loadOf(store, 'a-1'), 0);
      const second = await claim(store, 'sales', { nowMs: T0 + 2_000, offerTtlMs: 1_000 });
      assert.equal(second?.entry.conversationId, 'c-2', 'c-1 is not offered to the agent who let it expire');
      assert.deepEqual((await store.expire(T0 + 5_000, 10)).map((e) => e.misses), [2]);
      assert.equal((await store.agents())[0]?.misses, 2);
      await store.resetMisses('a-1');
      assert.equal((await store.agents())[0]?.misses, 0);
      const third = await claim(store, 'sales', { nowMs: T0 + 6_000, offerTtlMs: 1_000 });
      assert.equal(third, undefined, 'both conversations exclude the only agent');
      assert.equal((await store.stats(T0))[0]?.counters.expired, 2);
    });

    test('expire takes at most `limit` offers, the earliest first', async () => {
      const store = fresh();
      await store.setAgent(agent('a-1', { maxConcurrent: 5 }), T0);
      for (let i = 0; i < 3; i++) await store.enqueue(entry(`c-${i}`, T0 + i));
      for (let i = 0; i < 3; i++) await claim(store, 'sales', { nowMs: T0 + i, offerTtlMs: 100 });
      assert.deepEqual((await store.expire(T0 + 1_000, 2)).map((e) => [e.offer.conversationId, e.misses]), [['c-0', 1], ['c-1', 2]]);
      assert.deepEqual((await store.expire(T0 + 1_000, 2)).map((e) => e.offer.conversationId), ['c-2']);
    });

    test('take: from the queue or from another agent\'s open offer, within capacity unless forced', async () => {
      const store = fresh();
      await store.setAgent(agent('a-1', { maxConcurrent: 1 }), T0);
      await store.setAgent(agent('a-2', { maxConcurrent: 1 }), T0 + 1);
      await store.enqueue(entry('c-1', T0));
      await store.enqueue(entry('c-2', T0 + 1));
      const offered = await claim(store);
      assert.ok(offered);
      assert.equal(offered.offer.agentId, 'a-1');
      const taken = await store.take('c-1', 'a-2', { nowMs: T0 + 11_000, force: false });
      assert.deepEqual({ ...taken, offerId: '' }, { offerId: '', conversationId: 'c-1', agentId: 'a-2', group: 'sales', madeAtMs: T0 + 11_000, expiresAtMs: T0 + 11_000, state: 'accepted', acceptedAtMs: T0 + 11_000 });
      assert.notEqual(taken.offerId, offered.offer.offerId);
      await assert.rejects(store.accept(offered.offer.offerId, 'a-1', T0 + 11_001), refusedWith('OFFER_EXPIRED'), 'the open offer was cancelled');
      assert.deepEqual([await loadOf(store, 'a-1'), await loadOf(store, 'a-2')], [0, 1]);
      assert.deepEqual(await store.take('c-1', 'a-2', { nowMs: T0 + 12_000, force: false }), taken, 'the same take again answers the same offer');
      await assert.rejects(store.take('c-1', 'a-1', { nowMs: T0 + 12_000, force: false }), refusedWith('CONVERSATION_ALREADY_ASSIGNED'));
      await assert.rejects(store.take('c-2', 'a-2', { nowMs: T0 + 12_000, force: false }), refusedWith('AGENT_AT_CAPACITY'));
      assert.equal((await store.positions(['c-2'])).get('c-2')?.position, 1, 'a refused take changes nothing');
      const forced = await store.take('c-2', 'a-2', { nowMs: T0 + 13_000, force: true });
      assert.deepEqual([forced.state, await loadOf(store, 'a-2'), await store.entry('c-2')], ['accepted', 2, undefined]);
      const transfer = await store.take('c-assigned', 'unknown-agent', { nowMs: T0 + 14_000, force: false, group: 'support' });
      assert.deepEqual([transfer.agentId, transfer.group, transfer.state], ['unknown-agent', 'support', 'accepted'], 'an agent not in the directory may take');
      assert.deepEqual((await store.unconfirmed(T0 + 14_000, 0, 10)).map((o) => o.conversationId).sort(), ['c-1', 'c-2', 'c-assigned']);
    });

    test('auto-assign makes the offer accepted at once; it waits in unconfirmed until confirmed', async () => {
      const store = fresh();
      await store.setAgent(agent('a-1'), T0);
      await store.enqueue(entry('c-1', T0));
      const outcome = await claim(store, 'sales', { autoAssign: true, nowMs: T0 + 1 });
      assert.deepEqual([outcome?.offer.state, outcome?.offer.acceptedAtMs], ['accepted', T0 + 1]);
      assert.equal(await store.entry('c-1'), undefined);
      assert.deepEqual(await store.expire(T0 + 1_000_000, 10), [], 'an accepted offer never expires');
      assert.deepEqual(await store.unconfirmed(T0 + 5_000, 1_000, 10), [outcome?.offer]);
      await store.confirm(outcome?.offer.offerId ?? '');
      assert.deepEqual(await store.unconfirmed(T0 + 5_000, 1_000, 10), []);
      assert.equal(await loadOf(store, 'a-1'), 1);
    });

    test('dequeue and release take back an open offer and the load it held', async () => {
      const store = fresh();
      await store.setAgent(agent('a-1'), T0);
      await store.enqueue(entry('c-1', T0));
      await store.enqueue(entry('c-2', T0 + 1));
      const first = await claim(store);
      const second = await claim(store);
      assert.deepEqual(await store.dequeue('c-1'), first?.entry);
      await assert.rejects(store.accept(first?.offer.offerId ?? '', 'a-1', T0 + 11_000), refusedWith('OFFER_EXPIRED'));
      assert.equal(await store.release('c-2', 'a-1'), true);
      await assert.rejects(store.accept(second?.offer.offerId ?? '', 'a-1', T0 + 11_000), refusedWith('OFFER_EXPIRED'));
      assert.deepEqual([await loadOf(store, 'a-1'), (await store.stats(T0))[0]?.openOffers, await store.entry('c-2')], [0, 0, undefined]);
      assert.deepEqual(await store.expire(T0 + 1_000_000, 10), []);
    });

    test('an agent removed from the directory keeps what it holds and gets nothing new', async () => {
      const store = fresh();
      await store.setAgent(agent('a-1', { groups: ['sales', 'support'] }), T0);
      await store.enqueue(entry('c-1', T0));
      await store.enqueue(entry('c-2', T0 + 1, { group: 'support' }));
      assert.equal((await claim(store))?.offer.agentId, 'a-1');
      assert.deepEqual((await store.agents('support')).map((a) => [a.agentId, a.load]), [['a-1', 1]], 'its load spans its groups');
      await store.removeAgent('a-1');
      assert.deepEqual(await store.agents(), []);
      assert.equal(await claim(store, 'support'), undefined);
      assert.equal(await store.release('c-1', 'a-1'), true);
    });

    test('stats: per group the queue, its oldest wait, offers, agents by status, load, capacity and counters', async () => {
      const store = fresh();
      await store.setAgent(agent('a-1', { maxConcurrent: 2 }), T0);
      await store.setAgent(agent('a-2', { maxConcurrent: 4, status: 'away' }), T0);
      await store.setAgent(agent('a-3', { groups: ['support'], status: 'offline' }), T0);
      // The oldest waiting entry is not the first by rank.
      await store.enqueue(entry('vip', T0 - 50_000, { enqueuedAtMs: T0 + 5, priority: 50 }));
      await store.enqueue(entry('old', T0 + 1, { enqueuedAtMs: T0 + 1 }));
      await store.enqueue(entry('new', T0 + 2, { enqueuedAtMs: T0 + 2 }));
      await claim(store);
      await store.count('support', 'overflowed');
      await store.count('support', 'overflowed', 2);
      const zero = { offered: 0, accepted: 0, declined: 0, expired: 0, assigned: 0, overflowed: 0 };
      assert.deepEqual(await store.stats(T0), [
        { group: 'sales', queued: 2, oldestEnqueuedAtMs: T0 + 1, openOffers: 1, agents: { online: 1, away: 1, offline: 0, load: 1, capacity: 2 }, counters: { ...zero, offered: 1 }, assignedLastMinute: 0 },
        { group: 'support', queued: 0, openOffers: 0, agents: { online: 0, away: 0, offline: 1, load: 0, capacity: 0 }, counters: { ...zero, overflowed: 3 }, assignedLastMinute: 0 },
      ]);
    });
  });
}
