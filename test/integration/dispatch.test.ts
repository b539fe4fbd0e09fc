import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisDispatchStore } from '../../src/adapters/redis/redis-dispatch-store.ts';
import { agentToken, chat } from '../support/chat-rest.ts';
import { dispatchEnv, dispatchRig, own as g } from '../support/dispatch-rig.ts';
import { setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { TEST_REDIS_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';
import type { WsTestClient } from '../support/ws-client.ts';

// Routing dispatch end to end: a real gateway (OMNIGATE_DISPATCH=routing) on the test Redis and
// the three backends, agents on real sockets, visitors through widget sessions (verified
// customers from the seed: 28 is a VIP, 1, 2, 4 and 6 are standard). Every group and agent is this
// run's own; the timers are short (ms), so nothing here waits for long.
const VIP = '28';
const STANDARD = ['1', '2', '4', '6'];
const MAX_MISSES = 2;

const RULES = {
  version: `dispatch-test-${g('rules')}`,
  // Nobody serves it: conversations of other files that recovery routes (no group of theirs) wait there.
  defaultGroup: g('unserved'),
  ageing: { msPerPoint: 1000 },
  groups: {
    [g('expiry')]: { offerTimeoutMs: 400 },
    // Longer than the agent resync (300 ms): a resync runs between two misses in a row, and must not forget the first.
    [g('misses')]: { offerTimeoutMs: 700 },
    [g('auto')]: { autoAssign: true },
    [g('empty')]: { overflow: { whenNobodyOnline: { group: g('backup') } } },
    [g('closed')]: { hours: { timeZone: 'UTC', weekly: {} } },
    [g('waits')]: { overflow: { whenWaitExceeds: { afterMs: 200, to: { group: g('backup') } } } },
  },
  rules: [{ name: 'vip', when: { fact: 'customer.tier', eq: 'vip' }, then: { priority: 50 } }],
};
// The gateway runs in this test's process: an event-loop stall of the test's own (a GC, a big
// assertion diff) runs Node's timers before the Redis replies that came in meanwhile, so the 200 ms
// production command timeout can fire although Redis has answered (a CI run on 2 December: the
// sweep, recovery and resync all timed out at the same millisecond). The last test asserts dispatch
// logged no failure: give the in-process gateway a timeout that a stall of the test process does not reach.
const ENV = dispatchEnv({
  OMNIGATE_DISPATCH_MAX_MISSES: String(MAX_MISSES), OMNIGATE_DISPATCH_RECOVER_INTERVAL_MS: '300', OMNIGATE_DISPATCH_AGENT_RESYNC_INTERVAL_MS: '300', OMNIGATE_REDIS_COMMAND_TIMEOUT_MS: '2000',
});

let gw: TestGateway;
const rig = dispatchRig();
const { mine, offerTo } = rig;

before(async () => {
  gw = await startTestGateway(ENV);
  await rig.rules(gw, RULES);
});
after(async () => {
  await rig.close();
  await setFault('crm', { mode: 'ok' });
  await gw?.stop();
});

const agentIn = (name: string, groups: string[], maxConcurrent = 3) => rig.agentIn(gw, name, groups, maxConcurrent);
const online = (agentId: string) => rig.online(gw, agentId);
const visitor = (customerId?: string) => rig.visitor(gw, customerId);
const start = (token: string, group: string) => rig.start(gw, token, group);
const following = (token: string, conversationId: string) => rig.following(gw, token, conversationId);
const routingOf = (id: string) => rig.routingOf(gw, id);
const stateOf = (id: string) => rig.stateOf(gw, id);
const placeOf = (client: WsTestClient, conversationId: string, position: number, from = 0) =>
  client.waitFor(`place ${position} of ${conversationId}`, (f) => f.type === 'queue' && f.conversationId === conversationId && f.position === position, from);
const routed = (id: string) => waitFor(`the routing of ${id}`, async () => (await routingOf(id)).decision ?? undefined);

describe('routing dispatch', () => {
  test('offers a queued conversation to an online agent of its group; the accept assigns it, and the routing endpoint explains', async () => {
    const ada = await agentIn('ada', [g('general')]);
    const agent = await online(ada);
    const v = await visitor();
    const id = await start(v.token, g('general'));
    const offer = await offerTo(agent, id);
    assert.equal(typeof offer.offerId, 'string');
    const accepted = await chat(gw, agent.token, 'POST', `/v1/conversations/${id}/accept`, { offerId: offer.offerId });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.deepEqual([accepted.body.conversation.status, accepted.body.conversation.agentId], ['assigned', ada]);

    const res = await gw.api(`/v1/conversations/${id}/routing`);
    const explained = await assertMatchesSpec(res, 'getConversationRouting');
    assert.equal(explained.decision.group, g('general'));
    assert.equal(explained.decision.rulesVersion, RULES.version);
    assert.deepEqual(explained.decision.outcomes.map((o: any) => [o.rule, o.outcome]), [['vip', 'unknown']]);
    assert.deepEqual(explained.offers.map((o: any) => [o.offerId, o.agentId, o.outcome, o.reason]), [[offer.offerId, ada, 'accepted', 'least_busy']]);
    assert.deepEqual(explained.offers[0].candidates.map((c: any) => c.agentId), [ada]);
    assert.deepEqual(explained.assigned.agentId, ada);
    // Routing detail is for staff: the visitor is refused its own conversation's, and learns nothing of another's.
    assert.equal((await chat(gw, v.token, 'GET', `/v1/conversations/${id}/routing`)).body.code, 'FORBIDDEN');
    const other = await visitor();
    const hidden = await chat(gw, other.token, 'GET', `/v1/conversations/${id}/routing`);
    assert.deepEqual([hidden.status, hidden.body.code], [404, 'NOT_FOUND']);
  });

  test('an offer not accepted in time expires and moves on to the next agent', async () => {
    const [a, b] = await Promise.all([agentIn('exp-a', [g('expiry')]), agentIn('exp-b', [g('expiry')])]);
    const agents = new Map([[a, await online(a)], [b, await online(b)]]);
    const id = await start((await visitor()).token, g('expiry'));
    const first = await waitFor('the first offer', async () => (await routingOf(id)).offers[0]);
    const other = first.agentId === a ? b : a;
    const second = await offerTo(agents.get(other)!, id);
    const explained = await routingOf(id);
    assert.deepEqual(explained.offers.map((o: any) => [o.agentId, o.outcome]), [[first.agentId, 'expired'], [other, 'open']]);
    assert.equal(explained.offers[1].offerId, second.offerId);
    // The expired offer is closed for its agent.
    const late = await chat(gw, agents.get(first.agentId)!.token, 'POST', `/v1/conversations/${id}/accept`, { offerId: first.offerId });
    assert.deepEqual([late.status, late.body.code], [409, 'OFFER_EXPIRED']);
  });

  test('an agent whose presence never reached the dispatch store (the sync failed) is written there again by the periodic resync, and gets offers', async () => {
    const lost = await agentIn('lost', [g('resync')]);
    const agent = await online(lost);
    // What a sync lost to a Redis failure leaves: the store still holds the agent as offline.
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const store = createRedisDispatchStore({ client: redis });
      const statusOf = async () => (await store.agents(g('resync'))).find((a) => a.agentId === lost)?.status;
      await waitFor('the agent online in the dispatch store', async () => (await statusOf()) === 'online');
      await store.setAgent({ agentId: lost, groups: [g('resync')], skills: [], languages: [], maxConcurrent: 3, status: 'offline' }, Date.now());
      const id = await start((await visitor()).token, g('resync'));
      await offerTo(agent, id);
      assert.equal(await statusOf(), 'online');
    } finally {
      redis.disconnect();
    }
  });

  test(`an agent who lets ${MAX_MISSES} offers expire in a row is set away`, async () => {
    // One at a time: the second offer comes only after the first expired, so misses are counted across sweeps and resyncs.
    const m = await agentIn('missy', [g('misses')], 1);
    const agent = await online(m);
    const ids = [await start((await visitor()).token, g('misses')), await start((await visitor()).token, g('misses'))];
    for (const id of ids) await offerTo(agent, id);
    await agent.waitFor('presence away', (f) => f.type === 'presence' && f.agentId === m && f.status === 'away');
    await waitFor('both offers expired', async () => (await Promise.all(ids.map(routingOf))).every((r) => r.offers[0]?.outcome === 'expired'));
  });

  test('a VIP who arrives later is served before a standard customer who arrived earlier, in the same group', async () => {
    const group = g('vip');
    const v = await agentIn('vic', [group], 1);
    const standard = await start((await visitor(STANDARD[0])).token, group);
    await routed(standard);
    const vip = await start((await visitor(VIP)).token, group);
    const decision = await routed(vip);
    assert.equal(decision.priority, 50);
    assert.deepEqual(decision.outcomes.map((o: any) => [o.rule, o.outcome]), [['vip', 'fired']]);
    const agent = await online(v);
    const first = await agent.waitFor('the first offer', (f) => f.type === 'offer');
    assert.equal(first.conversationId, vip);
    await chat(gw, agent.token, 'POST', `/v1/conversations/${vip}/accept`, { offerId: first.offerId });
    await chat(gw, agent.token, 'POST', `/v1/conversations/${vip}/close`);
    await offerTo(agent, standard);
  });

  test('least busy first; a returning customer goes back to the agent who served it (sticky), busier or not', async () => {
    const group = g('sticky');
    const [f, h] = await Promise.all([agentIn('finn', [group]), agentIn('hana', [group])]);
    const finn = await online(f);
    const returning = await visitor(STANDARD[1]);
    const first = await start(returning.token, group);
    const offer = await offerTo(finn, first);
    await chat(gw, finn.token, 'POST', `/v1/conversations/${first}/accept`, { offerId: offer.offerId });
    await chat(gw, finn.token, 'POST', `/v1/conversations/${first}/close`);
    const busy = await start((await visitor()).token, group);
    const busyOffer = await offerTo(finn, busy);
    await chat(gw, finn.token, 'POST', `/v1/conversations/${busy}/accept`, { offerId: busyOffer.offerId });
    const hana = await online(h);
    // Finn holds one, Hana none: a new customer goes to Hana.
    const fresh = await start((await visitor()).token, group);
    await offerTo(hana, fresh);
    const freshOffer = (await routingOf(fresh)).offers[0];
    assert.deepEqual([freshOffer.agentId, freshOffer.reason], [h, 'least_busy']);
    assert.deepEqual(freshOffer.candidates.map((c: any) => c.agentId), [h, f]);
    // The customer Finn served comes back: Finn, though busier.
    const again = await start(returning.token, group);
    await offerTo(finn, again);
    const stickyOffer = (await routingOf(again)).offers[0];
    assert.deepEqual([stickyOffer.agentId, stickyOffer.reason], [f, 'sticky']);
  });

  test('an auto-assign group assigns without waiting for an accept', async () => {
    const a = await agentIn('otto', [g('auto')]);
    await online(a);
    const id = await start((await visitor()).token, g('auto'));
    const state = await waitFor('the assignment', async () => ((await stateOf(id)).status === 'assigned' ? stateOf(id) : undefined));
    assert.equal(state.agentId, a);
    const explained = await routingOf(id);
    assert.deepEqual(explained.offers.map((o: any) => [o.autoAssign, o.outcome]), [[true, 'accepted']]);
  });

  test('a group with nobody online overflows to the group its policy names; a closed group asks the visitor to leave a message', async () => {
    const b = await agentIn('bea', [g('backup')]);
    const backup = await online(b);
    const id = await start((await visitor()).token, g('empty'));
    await offerTo(backup, id);
    const explained = await routingOf(id);
    assert.deepEqual(explained.overflows.map((o: any) => [o.fromGroup, o.to, o.reason]), [[g('empty'), { group: g('backup') }, 'nobody_online']]);
    assert.equal((await stateOf(id)).group, g('backup'));

    const v = await visitor();
    const closed = await start(v.token, g('closed'));
    const asked = await waitFor('the request to leave a message', async () =>
      (await chat(gw, v.token, 'GET', `/v1/conversations/${closed}/events`)).body.events.find((e: any) => e.type === 'conversation.message_requested'));
    assert.deepEqual(asked.data, { reason: 'closed', emailRequired: true });
  });

  test('a conversation waiting past its group\'s threshold overflows', async () => {
    const id = await start((await visitor()).token, g('waits'));
    const explained = await waitFor('the overflow', async () => ((await routingOf(id)).overflows.length > 0 ? routingOf(id) : undefined));
    assert.deepEqual(explained.overflows.map((o: any) => [o.fromGroup, o.to, o.reason]), [[g('waits'), { group: g('backup') }, 'wait_exceeded']]);
  });

  test('with the CRM down, routing still happens: the decision marks the customer data missing, and no request hangs', async () => {
    const v = await visitor(STANDARD[2]);
    await setFault('crm', { mode: 'hang' });
    try {
      const id = await start(v.token, g('crmdown'));
      assert.equal((await stateOf(id)).status, 'queued');
      const decision = await routed(id);
      const customer = decision.sources.find((s: any) => s.name === 'customer');
      assert.equal(customer.status, 'missing', JSON.stringify(decision.sources));
      assert.ok(decision.missing.includes('customer'));
      assert.equal(decision.facts['customer.tier'], null);
      assert.deepEqual(decision.outcomes.map((o: any) => [o.rule, o.outcome]), [['vip', 'unknown']]);
    } finally {
      await setFault('crm', { mode: 'ok' });
    }
  });
  test('a waiting visitor is told its place as it moves, with an estimated wait once the group has assigned', async () => {
    const group = g('places');
    const standard = await visitor(STANDARD[3]);
    const first = await start(standard.token, group);
    await routed(first);
    const standardSocket = await following(standard.token, first);
    await placeOf(standardSocket, first, 1);
    const vip = await visitor(VIP);
    const second = await start(vip.token, group);
    const vipSocket = await following(vip.token, second);
    await placeOf(vipSocket, second, 1);
    const moved = await placeOf(standardSocket, first, 2);
    assert.equal(moved.estimatedWaitMs, null);
    const agent = await online(await agentIn('pia', [group], 1));
    const offer = await offerTo(agent, second);
    await chat(gw, agent.token, 'POST', `/v1/conversations/${second}/accept`, { offerId: offer.offerId });
    // First in line once the VIP is offered; with an estimate once the group has assigned it (one in the last minute: 60 s).
    const next = await standardSocket.waitFor('an estimate', (f) => f.type === 'queue' && f.conversationId === first && f.position === 1 && f.estimatedWaitMs !== null);
    assert.equal(next.estimatedWaitMs, 60_000);
    for (const client of [standardSocket, vipSocket, agent]) assert.deepEqual(client.invalid, []);
  });

  test('a queued conversation that no node routed (queued under manual dispatch, or its node died while routing it) is routed by a recovery sweep', async () => {
    const manual = await startTestGateway({ ...ENV, OMNIGATE_DISPATCH: 'manual' });
    try {
      const v = await visitor();
      const res = await chat(manual, v.token, 'POST', '/v1/conversations', { group: g('recovered') });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const id = String(res.body.conversationId);
      mine.add(id);
      const decision = await routed(id);
      assert.equal(decision.group, g('recovered'));
      const agent = await online(await agentIn('rex', [g('recovered')]));
      await offerTo(agent, id);
      assert.equal((await routingOf(id)).decisions, 1);
    } finally {
      await manual.stop();
    }
  });

  test('a transfer to a group is routed there; a transfer to a full agent is refused unless a supervisor forces it', async () => {
    const [from, to] = [g('t-from'), g('t-to')];
    const [tia, tom] = await Promise.all([agentIn('tia', [from], 1), agentIn('tom', [to], 1)]);
    const [tiaSocket, tomSocket] = [await online(tia), await online(tom)];
    const take = async (socket: typeof tiaSocket, id: string) => {
      const offer = await offerTo(socket, id);
      assert.equal((await chat(gw, socket.token, 'POST', `/v1/conversations/${id}/accept`, { offerId: offer.offerId })).status, 200);
    };
    const first = await start((await visitor()).token, from);
    await take(tiaSocket, first);
    // Tia hands it to the other group: routed there, offered to Tom.
    assert.equal((await chat(gw, tiaSocket.token, 'POST', `/v1/conversations/${first}/transfer`, { to: { group: to } })).status, 200);
    await take(tomSocket, first);
    assert.equal((await routingOf(first)).decision.group, to);
    // Tia is free again (the transfer gave her load back): a new one is hers; Tom (full) cannot be handed it.
    const second = await start((await visitor()).token, from);
    await take(tiaSocket, second);
    const refused = await chat(gw, tiaSocket.token, 'POST', `/v1/conversations/${second}/transfer`, { to: { agentId: tom } });
    assert.deepEqual([refused.status, refused.body.code], [409, 'AGENT_AT_CAPACITY']);
    const supervisor = await agentToken(await agentIn('sara', [from]), 'supervisor');
    const forced = await chat(gw, supervisor, 'POST', `/v1/conversations/${second}/transfer`, { to: { agentId: tom } });
    assert.equal(forced.status, 200, JSON.stringify(forced.body));
    assert.equal(forced.body.conversation.agentId, tom);
  });

  test('dispatch logged no failure along the way', () => {
    const ours = (l: Record<string, unknown>) => (l.conversationId === undefined && l.agentId === undefined) || mine.has(String(l.conversationId ?? l.agentId));
    const failures = gw.logs.filter((l) => Number(l.level) >= 40 && l.module === 'dispatch' && /failed|could not/.test(String(l.msg)) && ours(l));
    assert.deepEqual(failures, []);
  });
});
