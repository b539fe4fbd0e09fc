import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AgentProfile } from '../../src/config/identity-config.ts';
import type { RoutingRules } from '../../src/modules/dispatch/routing.types.ts';
import { simAgent, simAgents, type AgentBehaviour, type SimAgent } from '../support/dispatch-agents.ts';
import { dispatchWorld, FAST_DISPATCH, seedCustomers } from '../support/dispatch-nodes.ts';
import { sampleAgentLoads } from '../support/dispatch-sampler.ts';
import { assignedAgents, agentHolds, capacityViolations, dispatchOutcome, offersOf, peakLoads, queueOf, readStreams, streamObserver, streamViolations, type StreamObserver } from '../support/dispatch-streams.ts';
import { startConversation, startConversations, type StartedConversation, type VisitorSpec } from '../support/dispatch-visitors.ts';
import type { GatewayProcess } from '../support/gateway-process.ts';
import { waitFor } from '../support/wait.ts';

// Two gateway processes routing at once over one Redis: dozens of agents (real agent sockets,
// spread over both nodes, with groups, skills and capacities from the directory) and hundreds of
// visitors starting conversations at the same moment. What must hold whatever the interleaving:
// nobody assigned twice, nobody over capacity, everyone assigned or sent on explicitly, and a
// VIP who comes later served before a standard customer who came earlier.
const RUN = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const agentId = (name: string) => `load-${RUN}-${name}`;

/** The agents of the load: [name, groups, skills, maxConcurrent, behaviour]. */
const PLAN: readonly (readonly [string, readonly string[], readonly string[], number, AgentBehaviour])[] = [
  ...Array.from({ length: 10 }, (_, i) => [`g${i}`, ['general'], ['chat'], 1 + (i % 3), 'prompt'] as const),
  ...Array.from({ length: 8 }, (_, i) => [`o${i}`, ['orders'], ['chat', 'orders'], 1 + (i % 3), 'prompt'] as const),
  ...Array.from({ length: 4 }, (_, i) => [`go${i}`, ['general', 'orders'], ['chat', 'orders'], 2 + (i % 2), 'prompt'] as const),
  ...Array.from({ length: 4 }, (_, i) => [`slow${i}`, i % 2 ? ['orders'] : ['general'], ['chat', 'orders'], 2, 'slow'] as const),
  ...Array.from({ length: 4 }, (_, i) => [`never${i}`, i % 2 ? ['orders'] : ['general'], ['chat', 'orders'], 1 + (i % 2), 'never'] as const),
];
const PROFILES: AgentProfile[] = PLAN.map(([name, groups, skills, maxConcurrent]) => ({ id: agentId(name), groups: [...groups], skills: [...skills], languages: ['en', 'de'], maxConcurrent }));
/** The agent of the priority test: one place, so each offer waits for the one before to end. */
const LANE_AGENT: AgentProfile = { id: agentId('lane'), groups: ['lane'], skills: ['chat'], languages: ['en'], maxConcurrent: 1 };

const RULES: RoutingRules = {
  version: `load-${RUN}`,
  defaultGroup: 'general',
  ageing: { msPerPoint: 1000 },
  groups: {
    general: {}, orders: {}, lane: {},
    // Nobody works nights: its conversations are sent on at once, explicitly.
    night: { overflow: { whenNobodyOnline: { leaveMessage: true } } },
  },
  rules: [
    { name: 'vip first', when: { fact: 'customer.tier', eq: 'vip' }, then: { priority: 50 } },
    { name: 'orders need the skill', when: { fact: 'widget.group', eq: 'orders' }, then: { skills: ['orders'] } },
  ],
};

const world = dispatchWorld({ name: 'load', rules: RULES, agents: [...PROFILES, LANE_AGENT] });
let a: GatewayProcess;
let b: GatewayProcess;
let observer: StreamObserver;
const agents: SimAgent[] = [];
before(async () => {
  [a, b] = await Promise.all([world.start('a'), world.start('b')]);
  observer = await streamObserver([b.url, a.url]);
});
after(async () => {
  await Promise.all([...agents.map((x) => x.stop()), observer?.close()]);
});

describe('dispatch on two nodes under load', () => {
  test('300 conversations at once, 30 agents on two nodes: each assigned once or sent on explicitly, no agent over its maximum, each to an agent of its group with its skills', async (t) => {
    // Half accept over REST, half with a `command` frame on their socket.
    agents.push(...(await simAgents(PLAN.map(([, , , , behaviour], i) => ({ profile: PROFILES[i]!, behaviour, thinkMs: 300, holdMs: 150, acceptVia: i % 2 ? 'socket' as const : 'rest' as const })), [a.url, b.url])));
    // Every agent is known to dispatch as online before the first visitor comes.
    await waitFor('the agents online in the dispatch store', async () => {
      const [general, orders] = await Promise.all([queueOf(a, 'general'), queueOf(a, 'orders')]);
      return general.agents.online + orders.agents.online >= PROFILES.reduce((n, p) => n + p.groups.length, 0);
    });

    const vips = seedCustomers('vip', 20);
    const specs: VisitorSpec[] = [
      ...Array.from({ length: 150 }, () => ({ group: 'general' })),
      ...Array.from({ length: 90 }, () => ({ group: 'orders' })),
      ...vips.map((customerId) => ({ group: 'orders', customerId })),
      ...Array.from({ length: 40 }, () => ({ group: 'night' })),
    ];
    // Shuffled deterministically, so VIPs, groups and nodes interleave.
    const order = specs.map((s, i) => ({ s, k: (i * 7919) % specs.length })).sort((x, y) => x.k - y.k).map((x) => x.s);
    // The store's own count of every agent's load, read again and again while the load runs.
    const sampler = sampleAgentLoads(world.redis.url);
    const started = await startConversations([a, b], order);
    const ids = started.map((c) => c.conversationId);
    await observer.follow(ids);

    const waiting = () => ids.filter((id) => dispatchOutcome(observer.events(id)) === 'waiting');
    await waitFor('every conversation assigned or sent on', () => waiting().length === 0, { timeoutMs: 45_000, intervalMs: 100, detail: () => `${waiting().length} still waiting, e.g. ${JSON.stringify(observer.events(waiting()[0] ?? '').map((e) => e.type))}` });

    const loads = await sampler.stop();
    assert.deepEqual(loads.overloads, [], 'no agent over its maximum in the dispatch store, at any of its reads');
    t.diagnostic(`${loads.samples} reads of the store's loads; agents at their maximum there: ${PROFILES.filter((p) => loads.peaks.get(p.id) === p.maxConcurrent).length} of ${PROFILES.length}`);
    // The truth is the stored streams, read again over REST.
    const streams = await readStreams(a, ids);
    const bad = streamViolations(streams);
    // The streams at fault, for the post-mortem.
    for (const line of bad) t.diagnostic(JSON.stringify(streams.get(line.split(' ')[0]!)?.map((e) => [e.seq, e.type, e.at, e.data.offerId ?? '', e.data.agentId ?? '', e.data.outcome ?? ''])));
    assert.deepEqual(bad, [], 'offers and assignments consistent on every stream');
    const overCapacity = capacityViolations(streams, new Map(PROFILES.map((p) => [p.id, p.maxConcurrent])));
    // The holds of an agent over its maximum, with the streams of its conversations, for the post-mortem.
    for (const agentId of overCapacity.map((line) => line.split(' ')[0]!)) {
      const held = agentHolds(streams, agentId);
      t.diagnostic(`${agentId}: ${JSON.stringify(held)}`);
      for (const { conversationId } of held) t.diagnostic(`${conversationId}: ${JSON.stringify(streams.get(conversationId)?.map((e) => [e.seq, e.type, e.at, e.data.offerId ?? '', e.data.agentId ?? '']))}`);
    }
    assert.deepEqual(overCapacity, [], 'no agent over its maximum');
    for (const c of started) {
      const events = streams.get(c.conversationId)!;
      const outcome = dispatchOutcome(events);
      if (c.group === 'night') {
        assert.equal(outcome, 'overflowed', `${c.conversationId} (night) was sent on`);
        assert.deepEqual(assignedAgents(events), [], `${c.conversationId} (night) was given to nobody`);
        continue;
      }
      assert.equal(outcome, 'assigned', `${c.conversationId} (${c.group}) assigned`);
      const [holder, ...more] = assignedAgents(events);
      assert.deepEqual(more, [], `${c.conversationId} assigned once`);
      const profile = PROFILES.find((p) => p.id === holder);
      assert.ok(profile?.groups.includes(c.group!), `${c.conversationId} (${c.group}) went to ${holder}, an agent of its group`);
      if (c.group === 'orders') assert.ok(profile?.skills.includes('orders'), `${c.conversationId} went to ${holder}, who has the skill orders needs`);
      // Each agent's view agrees: the one it was given to had its accept acknowledged, no other agent had.
      const acked = agents.filter((x) => x.accepts.some((o) => o.offer.conversationId === c.conversationId && o.result.ok));
      assert.deepEqual(acked.map((x) => x.id), [holder], `${c.conversationId}: only ${holder} had its accept acknowledged`);
    }

    // Agents that let offers expire had them moved on, and were set away after their misses (an
    // agent offered fewer than that before the queue ran dry keeps its status: count those it reached).
    let setAway = 0;
    for (const lazy of agents.filter((x) => x.behaviour === 'never')) {
      const offered = [...streams.values()].flatMap((events) => offersOf(events).filter((o) => o.agentId === lazy.id).map((o) => ({ ...o, events })));
      for (const o of offered) {
        assert.ok(o.events.some((e) => e.type === 'conversation.offer_ended' && e.data.offerId === o.offerId && e.data.outcome === 'expired'), `${lazy.id}'s offer ${o.offerId} expired`);
      }
      if (offered.length < FAST_DISPATCH.maxMisses) continue;
      await lazy.client.waitFor(`${lazy.id} set away after its misses`, (f) => f.type === 'presence' && f.agentId === lazy.id && f.status === 'away');
      setAway += 1;
    }
    assert.ok(setAway > 0, 'at least one agent that never answers missed enough offers to be set away');
    const expired = [...streams.values()].flatMap((events) => events.filter((e) => e.type === 'conversation.offer_ended' && e.data.outcome === 'expired')).length;
    const peaks = peakLoads(streams);
    t.diagnostic(`agents at their maximum by the streams: ${PROFILES.filter((p) => peaks.get(p.id) === p.maxConcurrent).length} of ${PROFILES.length}`);
    t.diagnostic(`${started.length} conversations, ${agents.length} agents; offers made ${[...streams.values()].reduce((n, e) => n + offersOf(e).length, 0)}, expired ${expired}`);
    for (const agent of agents) assert.deepEqual(agent.client.socket.invalid, [], `${agent.id}: every frame as the AsyncAPI document says`);
  });

  test('priority: VIPs who come later are offered before standard customers who came earlier, in the same group, while no agent is free in between', async () => {
    const lane = await simAgent({ profile: LANE_AGENT, behaviour: 'never', urls: [b.url, a.url] });
    agents.push(lane);
    await waitFor('the lane agent online in the dispatch store', async () => (await queueOf(a, 'lane')).agents.online === 1);
    // The agent's one place is taken.
    const first = await startConversation(a, { group: 'lane' });
    const firstOffer = await waitFor('the first offer', () => lane.offers.find((o) => o.conversationId === first.conversationId));
    assert.equal((await lane.accept(firstOffer)).result.ok, true);

    // Standard customers first, then VIPs, on both nodes, each in the queue before the next comes.
    const arrivals: StartedConversation[] = [];
    const vips = seedCustomers('vip', 3, 20);
    for (const [i, spec] of [{}, {}, {}, {}, { customerId: vips[0] }, { customerId: vips[1] }, { customerId: vips[2] }].entries()) {
      arrivals.push(await startConversation(i % 2 ? b : a, { group: 'lane', ...spec } as VisitorSpec, i));
      await waitFor(`conversation ${i} in the lane's queue`, async () => (await queueOf(a, 'lane')).queued === i + 1);
    }

    // One place at a time: each offer is accepted and closed before the next can be made.
    await lane.close(first.conversationId);
    const served: string[] = [];
    for (let i = 0; i < arrivals.length; i += 1) {
      const offer = await waitFor(`offer ${i + 2} to the lane agent`, () => lane.offers[i + 1]);
      const outcome = await lane.accept(offer);
      assert.equal(outcome.result.ok, true, `offer ${offer.offerId} accepted`);
      served.push(offer.conversationId);
      await lane.close(offer.conversationId);
    }
    const who = (id: string) => {
      const c = arrivals.find((x) => x.conversationId === id)!;
      return `${c.customerId ? 'vip' : 'standard'}#${c.index}`;
    };
    assert.deepEqual(served.map(who), ['vip#4', 'vip#5', 'vip#6', 'standard#0', 'standard#1', 'standard#2', 'standard#3'], 'VIPs first in their order of arrival, then the others in theirs');
  });
});
