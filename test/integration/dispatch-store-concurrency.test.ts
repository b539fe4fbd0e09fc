import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isAppError } from '../../src/kernel/errors.ts';
import type { ClaimOutcome, DispatchStore, Offer } from '../../src/ports/dispatch-store.ts';
import { DISPATCH_TARGETS, dispatchAgent as agent, dispatchStoreOn, rankedEntry as entry, testDispatchPrefix, type DispatchConnection } from '../support/dispatch-stores.ts';

// The DispatchStore under concurrent callers, each on a connection of its own (as gateway nodes
// are), against the test Redis and the test Redis Cluster: no conversation is given twice and
// no agent ever holds more than its maximum.
const T0 = 1_800_000_000_000;
const CLAIMERS = 8;
const CONVERSATIONS = 200;
const AGENTS = 30;
/** 1 to 5 each: 90 places in all, fewer than the conversations, so capacity is what stops the claims. */
const maxOf = (i: number) => 1 + (i % 5);
const CAPACITY = Array.from({ length: AGENTS }, (_, i) => maxOf(i)).reduce((a, b) => a + b, 0);

for (const [name, connect] of Object.entries(DISPATCH_TARGETS)) {
  describe(`DispatchStore under concurrent claims: ${name}`, () => {
    const connections: DispatchConnection[] = [];
    before(async () => void connections.push(...(await Promise.all(Array.from({ length: CLAIMERS }, () => connect())))));
    after(async () => void (await Promise.all(connections.map((c) => c.close()))));

    async function seeded(): Promise<DispatchStore[]> {
      const prefix = testDispatchPrefix();
      const stores = connections.map((c) => dispatchStoreOn(c, prefix));
      const [first] = stores as [DispatchStore];
      await Promise.all(Array.from({ length: AGENTS }, (_, i) => first.setAgent(agent(`a-${i}`, { maxConcurrent: maxOf(i), skills: i % 3 === 0 ? ['billing'] : [] }), T0 + i)));
      await Promise.all(Array.from({ length: CONVERSATIONS }, (_, i) => first.enqueue(entry(`c-${i}`, T0 + i, { skills: i % 4 === 0 ? ['billing'] : [] }))));
      return stores;
    }
    const maxima = new Map(Array.from({ length: AGENTS }, (_, i) => [`a-${i}`, maxOf(i)]));

    test(`${CLAIMERS} parallel claimers over ${CONVERSATIONS} conversations and ${AGENTS} agents: nothing offered twice, nobody over capacity`, async () => {
      const stores = await seeded();
      const outcomes: ClaimOutcome[] = [];
      await Promise.all(stores.map(async (store, n) => {
        for (let i = 0; ; i++) {
          const outcome = await store.claim('sales', { nowMs: T0 + 1_000 + i, offerTtlMs: 60_000, autoAssign: n % 2 === 0, scanDepth: 20 });
          if (!outcome) return;
          outcomes.push(outcome);
        }
      }));
      const conversations = outcomes.map((o) => o.offer.conversationId);
      assert.equal(new Set(conversations).size, conversations.length, 'no conversation offered twice');
      assert.equal(new Set(outcomes.map((o) => o.offer.offerId)).size, outcomes.length);
      const perAgent = new Map<string, number>();
      for (const o of outcomes) perAgent.set(o.offer.agentId, (perAgent.get(o.offer.agentId) ?? 0) + 1);
      for (const [agentId, count] of perAgent) assert.ok(count <= (maxima.get(agentId) ?? 0), `${agentId} holds ${count}, at most ${maxima.get(agentId)}`);
      for (const o of outcomes) if (o.entry.skills.includes('billing')) assert.equal(Number(o.offer.agentId.slice(2)) % 3, 0, 'billing went to a billing agent');
      const [first] = stores as [DispatchStore];
      const agents = await first.agents();
      for (const a of agents) assert.equal(a.load, perAgent.get(a.agentId) ?? 0, `${a.agentId}'s load is what it was offered`);
      assert.equal(outcomes.length, CAPACITY, 'every place filled: the queue is longer than the capacity');
      const [stats] = await first.stats(T0);
      assert.equal((stats?.queued ?? 0) + outcomes.length, CONVERSATIONS, 'every conversation queued or offered');
    });

    test('claims, accepts, declines, expiries and releases racing on separate connections keep every load equal to what the agent holds', async () => {
      const stores = await seeded();
      const held = new Map<string, Set<string>>();
      const hold = (o: Offer) => (held.get(o.agentId) ?? held.set(o.agentId, new Set()).get(o.agentId))?.add(o.conversationId);
      let now = T0 + 1_000;
      await Promise.all(stores.map(async (store, n) => {
        for (let round = 0; round < 40; round++) {
          const outcome = await store.claim('sales', { nowMs: (now += 1), offerTtlMs: 5, autoAssign: false, scanDepth: 20 });
          if (outcome) {
            const offer = outcome.offer;
            try {
              // Some decline, the others accept; some answers come after a sweeper expired the offer.
              if (round % 3 === 0) await store.decline(offer.offerId, offer.agentId, offer.madeAtMs + 1);
              else hold(await store.accept(offer.offerId, offer.agentId, offer.madeAtMs + 1));
            } catch (err) {
              if (!(isAppError(err) && err.code === 'OFFER_EXPIRED')) throw err;
            }
          }
          if (n === 0) await store.expire(now + 10, 50);
          if (round % 5 === 4) {
            const [agentId, conversations] = [...held].find(([, set]) => set.size > 0) ?? [];
            const conversationId = conversations?.values().next().value;
            if (agentId && conversationId !== undefined && conversations?.delete(conversationId)) await store.release(conversationId, agentId);
          }
        }
      }));
      const [first] = stores as [DispatchStore];
      await first.expire(now + 1_000_000, 1_000);
      for (const a of await first.agents()) {
        assert.equal(a.load, held.get(a.agentId)?.size ?? 0, `${a.agentId}'s load is the conversations it accepted and still holds`);
        assert.ok(a.load <= a.maxConcurrent, `${a.agentId} within its maximum`);
      }
      const accepted = [...held.values()].flatMap((set) => [...set]);
      assert.equal(new Set(accepted).size, accepted.length, 'no conversation held by two agents');
    });

    test('parallel takes of the same conversations by different agents: exactly one wins each', async () => {
      const stores = await seeded();
      const winners = new Map<string, string[]>();
      const refusals = new Map<string, number>();
      await Promise.all(stores.map(async (store, n) => {
        for (let c = 0; c < 40; c++) {
          const conversationId = `c-${(c * 7 + n) % 40}`;
          try {
            const offer = await store.take(conversationId, `a-${(n * 3 + c) % AGENTS}`, { nowMs: T0 + c, force: false });
            winners.set(conversationId, [...new Set([...(winners.get(conversationId) ?? []), offer.agentId])]);
          } catch (err) {
            if (!isAppError(err) || !['CONVERSATION_ALREADY_ASSIGNED', 'AGENT_AT_CAPACITY'].includes(err.code)) throw err;
            refusals.set(err.code, (refusals.get(err.code) ?? 0) + 1);
          }
        }
      }));
      for (const [conversationId, agents] of winners) assert.equal(agents.length, 1, `${conversationId} went to ${agents.join(', ')}`);
      const [first] = stores as [DispatchStore];
      for (const a of await first.agents()) assert.ok(a.load <= a.maxConcurrent, `${a.agentId} holds ${a.load}, at most ${a.maxConcurrent}`);
      const taken = (await first.unconfirmed(T0 + 1_000, 0, 1_000)).map((o) => o.conversationId);
      assert.deepEqual(taken.sort(), [...winners.keys()].sort());
      assert.ok((refusals.get('CONVERSATION_ALREADY_ASSIGNED') ?? 0) > 0, 'the race was contested');
    });
  });
}

for (const [name, connect] of Object.entries(DISPATCH_TARGETS)) {
  describe(`DispatchStore with many agents: ${name}`, () => {
    let connection: DispatchConnection;
    before(async () => void (connection = await connect()));
    after(async () => connection.close());

    test('finds the one eligible agent far down the availability, as deep as the claim agent limit', async () => {
      const prefix = testDispatchPrefix();
      const store = dispatchStoreOn(connection, prefix);
      await Promise.all(Array.from({ length: 150 }, (_, i) => store.setAgent(agent(`a-${i}`), T0 + i)));
      // The only lawyer has been idle the shortest: last of 150 in the group's availability.
      await store.setAgent(agent('lawyer', { skills: ['legal'] }), T0 + 1_000);
      await store.enqueue(entry('c-legal', T0, { skills: ['legal'] }));
      const shallow = dispatchStoreOn(connection, prefix, { claimAgentLimit: 100 });
      assert.equal(await shallow.claim('sales', { nowMs: T0 + 2_000, offerTtlMs: 1_000, autoAssign: false, scanDepth: 5 }), undefined, 'not within the 100 least busy');
      const outcome = await store.claim('sales', { nowMs: T0 + 2_000, offerTtlMs: 1_000, autoAssign: false, scanDepth: 5 });
      assert.deepEqual([outcome?.offer.agentId, outcome?.candidates.map((c) => c.agentId)], ['lawyer', ['lawyer']]);
    });

    test('passes over entries whose needs nobody meets, but not a later one with the same needs and fewer exclusions', async () => {
      const store = dispatchStoreOn(connection, testDispatchPrefix());
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.setAgent(agent(`a-${i}`), T0 + i)));
      await store.setAgent(agent('german', { languages: ['de'] }), T0 + 1_000);
      await store.enqueue(entry('fr-1', T0, { language: 'fr' }));
      await store.enqueue(entry('fr-2', T0 + 1, { language: 'fr' }));
      await store.enqueue(entry('de-excluded', T0 + 2, { language: 'de', excluded: ['german'] }));
      await store.enqueue(entry('de', T0 + 3, { language: 'de' }));
      const outcome = await store.claim('sales', { nowMs: T0 + 2_000, offerTtlMs: 1_000, autoAssign: false, scanDepth: 10 });
      assert.deepEqual([outcome?.entry.conversationId, outcome?.offer.agentId, outcome?.passedOver], ['de', 'german', 3]);
      const next = await store.claim('sales', { nowMs: T0 + 2_000, offerTtlMs: 1_000, autoAssign: false, scanDepth: 10 });
      assert.equal(next, undefined, 'fr-1, fr-2 and de-excluded wait');
    });
  });
}
