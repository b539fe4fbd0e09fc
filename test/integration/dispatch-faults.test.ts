import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AgentProfile } from '../../src/config/identity-config.ts';
import type { RoutingRules } from '../../src/modules/dispatch/routing.types.ts';
import { simAgent, type SimAgent } from '../support/dispatch-agents.ts';
import { CHAT_ORIGIN } from '../support/chat-principals.ts';
import { DISPATCH_ADMIN_KEY, dispatchWorld, seedCustomers } from '../support/dispatch-nodes.ts';
import { assignedAgents, capacityViolations, dispatchOutcome, offersOf, queueOf, readStreams, streamObserver, streamViolations, type StreamObserver } from '../support/dispatch-streams.ts';
import { startConversation, startWith, visitorSessionFor, type StartedConversation } from '../support/dispatch-visitors.ts';
import { setFault } from '../support/gateway.ts';
import type { GatewayProcess } from '../support/gateway-process.ts';
import { waitFor } from '../support/wait.ts';

// Dispatch when things break: a node dies in the middle of dispatching, between an accept's claim
// and its `assigned` event (deterministically, through the fault-injection hook), or while it routes
// a conversation; the CRM is down or hangs while routing needs it; every node and Redis restart with
// conversations waiting, an offer open and a ticket job waiting for its next attempt.
const RUN = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const agentId = (name: string) => `faults-${RUN}-${name}`;
const profile = (name: string, group: string, maxConcurrent: number): AgentProfile => ({ id: agentId(name), groups: [group], skills: ['chat'], languages: ['en'], maxConcurrent });

const KILL_PROMPT = Array.from({ length: 6 }, (_, i) => profile(`kill-p${i}`, 'kill', 2));
const KILL_LAZY = Array.from({ length: 3 }, (_, i) => profile(`kill-n${i}`, 'kill', 1));
const CLAIM_AGENT = profile('claim', 'claim', 1);
const CRM_AGENT = profile('crm', 'crm', 5);
const ROUTE_AGENT = profile('route', 'reroute', 5);
const RESTART_LAZY = profile('restart-n', 'restart', 1);
const RESTART_PROMPT = profile('restart-p', 'restart', 10);
const PROFILES = [...KILL_PROMPT, ...KILL_LAZY, CLAIM_AGENT, CRM_AGENT, ROUTE_AGENT, RESTART_LAZY, RESTART_PROMPT];
const MAX = new Map(PROFILES.map((p) => [p.id, p.maxConcurrent]));

const RULES: RoutingRules = {
  version: `faults-${RUN}`,
  defaultGroup: 'kill',
  // Nobody works nights: a visitor there is asked to leave a message.
  groups: { kill: {}, claim: {}, crm: {}, reroute: {}, restart: {}, night: { overflow: { whenNobodyOnline: { leaveMessage: true } } } },
  rules: [{ name: 'vip first', when: { fact: 'customer.tier', eq: 'vip' }, then: { priority: 50 } }],
};

// A failed ticket job waits 1-2 s for its next attempt: the nodes, killed at once, never run it; the restarted ones do.
// Routing's fresh facts cache off: a customer routed again is read again (or answered from its last known copy).
const world = dispatchWorld({ name: 'faults', rules: RULES, agents: PROFILES, env: { OMNIGATE_JOB_BACKOFF_MS: '2000', OMNIGATE_DISPATCH_FACTS_CACHE_TTL_MS: '0' } });
let a: GatewayProcess;
let b: GatewayProcess;
let observer: StreamObserver;
const agents: SimAgent[] = [];
before(async () => {
  [a, b] = await Promise.all([world.start('a'), world.start('b')]);
  observer = await streamObserver([b.url, a.url]);
});
after(async () => {
  await Promise.all([setFault('crm', { mode: 'ok' }), setFault('tickets', { mode: 'ok' })]);
  await Promise.all([...agents.map((x) => x.stop()), observer?.close()]);
});

/** Started and followed by the observer. */
async function started(node: GatewayProcess, spec: Parameters<typeof startConversation>[1], index = 0): Promise<StartedConversation> {
  const c = await startConversation(node, spec, index);
  await observer.follow([c.conversationId]);
  return c;
}

describe('dispatch under faults', () => {
  test('a node SIGKILLed in the middle of dispatching: every acknowledged conversation is assigned once, nobody over capacity, and the offers it made expire and move on', async (t) => {
    // Agents that never answer hold offers when the node dies; prompt ones serve. All start on A and move to B.
    agents.push(...(await Promise.all([
      ...KILL_LAZY.map((p) => simAgent({ profile: p, behaviour: 'never', urls: [a.url, b.url] })),
      ...KILL_PROMPT.map((p, i) => simAgent({ profile: p, behaviour: 'prompt', holdMs: 100, urls: i % 2 ? [a.url, b.url] : [b.url, a.url] })),
    ])));
    await waitFor('the kill agents online', async () => (await queueOf(b, 'kill')).agents.online === KILL_LAZY.length + KILL_PROMPT.length);

    // Visitors keep coming on both nodes; A dies once a few have been assigned.
    const acknowledged: StartedConversation[] = [];
    const refused: unknown[] = [];
    const starting = Promise.all(Array.from({ length: 80 }, (_, i) => started(i % 2 ? a : b, { group: 'kill' }, i).then((c) => void acknowledged.push(c), (err: unknown) => void refused.push(err))));
    await waitFor('ten assigned before the kill', () => acknowledged.filter((c) => dispatchOutcome(observer.events(c.conversationId)) === 'assigned').length >= 10);
    const openAtKill = acknowledged.flatMap((c) => {
      const events = observer.events(c.conversationId);
      const ended = new Set(events.filter((e) => e.type === 'conversation.offer_ended' || e.type === 'conversation.assigned').map((e) => String(e.data.offerId)));
      return offersOf(events).filter((o) => !ended.has(o.offerId)).map((o) => ({ ...o, conversationId: c.conversationId }));
    });
    await a.kill();
    await starting;
    t.diagnostic(`${acknowledged.length} starts acknowledged, ${refused.length} refused by the dying node; ${openAtKill.length} offers open at the kill`);

    const ids = acknowledged.map((c) => c.conversationId);
    const waiting = () => ids.filter((id) => dispatchOutcome(observer.events(id)) !== 'assigned');
    await waitFor('every acknowledged conversation assigned', () => waiting().length === 0, { timeoutMs: 30_000, intervalMs: 100, detail: () => `${waiting().length} not assigned, e.g. ${JSON.stringify(observer.events(waiting()[0] ?? '').map((e) => e.type))}` });
    const streams = await readStreams(b, ids);
    assert.deepEqual(streamViolations(streams), [], 'offers and assignments consistent on every stream');
    assert.deepEqual(capacityViolations(streams, MAX), [], 'no agent over its maximum');
    for (const id of ids) assert.equal(assignedAgents(streams.get(id)!).length, 1, `${id} assigned once`);
    // What was open when A died ended: accepted (by an agent that answered), or expired and moved on.
    for (const o of openAtKill) {
      const events = streams.get(o.conversationId)!;
      const end = events.find((e) => (e.type === 'conversation.offer_ended' || e.type === 'conversation.assigned') && e.data.offerId === o.offerId);
      assert.ok(end, `offer ${o.offerId} (open at the kill) ended`);
      if (KILL_LAZY.some((p) => p.id === o.agentId)) assert.equal(end.data.outcome, 'expired', `the lazy agent's offer ${o.offerId} expired`);
    }
  });

  test('a node that dies between the claim of an accept and the append of its `assigned` event: a surviving node completes the accepted offer, once', async () => {
    // The fault-injection hook: this node kills itself (SIGKILL) right after the store took an accept, before the stream records it.
    const c = await world.start('c', { env: { OMNIGATE_FAULT_KILL_AFTER_CLAIM: 'true' } });
    const agent = await simAgent({ profile: CLAIM_AGENT, behaviour: 'never', urls: [c.url, b.url] });
    agents.push(agent);
    await waitFor('the claim agent online', async () => (await queueOf(b, 'claim')).agents.online === 1);
    const conversation = await started(b, { group: 'claim' });
    const offer = await waitFor('the offer', () => agent.offers[0]);
    // Sent on C, which dies in the middle of it; the console sends it again on B (same id).
    const accepting = agent.accept(offer);
    assert.deepEqual(await c.exited, { code: null, signal: 'SIGKILL' }, 'node C died between the claim and the append');
    const retried = await accepting;
    await waitFor('the accepted offer completed by the surviving node', () => dispatchOutcome(observer.events(conversation.conversationId)) === 'assigned');
    const [events] = [...(await readStreams(b, [conversation.conversationId])).values()];
    assert.deepEqual(streamViolations(new Map([[conversation.conversationId, events!]])), []);
    const assigned = events!.filter((e) => e.type === 'conversation.assigned');
    assert.deepEqual(assigned.map((e) => [e.data.agentId, e.data.offerId]), [[CLAIM_AGENT.id, offer.offerId]], 'assigned once, to the agent, by its offer');
    assert.ok(!events!.some((e) => e.type === 'conversation.offer_ended'), 'the accepted offer never expired');
    // The console's repeat is answered: the same assignment (a duplicate), or the offer no longer open.
    assert.ok(retried.result.ok ? retried.result.seq === assigned[0]!.seq : retried.result.code === 'OFFER_EXPIRED', `the repeated accept: ${JSON.stringify(retried.result)}`);
    // (Its last words may be lost with it: SIGKILL flushes nothing. That the hook was on, it said at start.)
    assert.ok(c.logs().some((l) => String(l.msg).startsWith('fault injection on')), 'node C said at start that the fault hook was on');
    assert.ok(!a.logs().some((l) => String(l.msg).startsWith('fault injection')), 'a node without the setting has no hook');
  });

  test('a node SIGKILLed while it routes an acknowledged conversation (its business data slow to come): another node routes it, and it is assigned', async () => {
    const agent = await simAgent({ profile: ROUTE_AGENT, behaviour: 'prompt', urls: [b.url] });
    agents.push(agent);
    await waitFor('the reroute agent online', async () => (await queueOf(b, 'reroute')).agents.online === 1);
    // Node D waits long for business data; the CRM answers late: D is still gathering when it dies.
    const d = await world.start('d', { env: { OMNIGATE_DISPATCH_FACTS_TIMEOUT_MS: '20000' } });
    const [customerId] = seedCustomers('vip', 1, 51);
    const session = await visitorSessionFor(d, customerId!);
    await setFault('crm', { mode: 'latency', latencyMs: 20_000 });
    let c: StartedConversation;
    try {
      c = await startWith(d, session, { group: 'reroute' });
      await d.kill();
    } finally {
      await setFault('crm', { mode: 'ok' });
    }
    await observer.follow([c.conversationId]);
    await waitFor('the conversation D was routing assigned by another node', () => dispatchOutcome(observer.events(c.conversationId)) === 'assigned', { timeoutMs: 20_000, detail: () => JSON.stringify(observer.events(c.conversationId).map((e) => e.type)) });
    const [events] = [...(await readStreams(b, [c.conversationId])).values()];
    assert.deepEqual(streamViolations(new Map([[c.conversationId, events!]])), []);
    assert.equal(events!.filter((e) => e.type === 'conversation.routed').length, 1, 'routed once');
    assert.deepEqual(assignedAgents(events!), [ROUTE_AGENT.id]);
  });

  test('CRM down: a verified VIP is still routed and assigned, the decision marks the customer data missing, and no request hangs', async () => {
    const agent = await simAgent({ profile: CRM_AGENT, behaviour: 'prompt', urls: [b.url] });
    agents.push(agent);
    await waitFor('the crm agent online', async () => (await queueOf(b, 'crm')).agents.online === 1);
    await setFault('crm', { mode: 'down' });
    try {
      // A customer no earlier test asked for: nothing cached or stale to fall back on.
      const [customerId] = seedCustomers('vip', 1, 50);
      const c = await started(b, { group: 'crm', customerId: customerId! });
      await waitFor('the VIP assigned with the CRM down', () => dispatchOutcome(observer.events(c.conversationId)) === 'assigned');
      const res = await b.api(`/v1/conversations/${c.conversationId}/routing`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { decision?: Record<string, unknown> } & Record<string, unknown>;
      const decision = (body.decision ?? body) as { missing: string[]; sources: { name: string; status: string; reason?: string }[]; facts: Record<string, unknown>; group: string };
      assert.ok(decision.missing.includes('customer'), `customer data marked missing: ${JSON.stringify(decision.missing)}`);
      const source = decision.sources.find((s) => s.name === 'customer');
      assert.equal(source?.status, 'missing');
      assert.ok(source?.reason, 'with the reason it is missing');
      assert.equal(decision.facts['customer.tier'] ?? null, null, 'the tier is unknown, not an error');
      assert.equal(decision.group, 'crm');
    } finally {
      await setFault('crm', { mode: 'ok' });
    }
  });

  test('CRM hanging: routing waits no longer than its facts deadline; a VIP routed before keeps its tier from the last known copy (stale, timed out) and the VIP rule, a VIP never seen is missing it; both are assigned', async () => {
    // The visitors' sessions are made while the CRM answers (the identity check reads the customer once).
    const [seenId, unseenId] = seedCustomers('vip', 2, 52);
    const [seenBefore, seenNow, unseen] = await Promise.all([visitorSessionFor(b, seenId!), visitorSessionFor(b, seenId!), visitorSessionFor(b, unseenId!)]);
    const decisionOf = async (conversationId: string) => {
      const res = await b.api(`/v1/conversations/${conversationId}/routing`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { decision?: Record<string, unknown> } & Record<string, unknown>;
      const decision = (body.decision ?? body) as { missing: string[]; sources: Record<string, unknown>[]; priority: number; facts: Record<string, unknown>; outcomes: { rule: string; outcome: string }[] };
      return { ...decision, customer: decision.sources.find((s) => s.name === 'customer') };
    };
    // Routing reads the first customer once while the CRM answers.
    const first = await startWith(b, seenBefore, { group: 'crm' });
    await observer.follow([first.conversationId]);
    await waitFor('the VIP routed while the CRM answers', () => dispatchOutcome(observer.events(first.conversationId)) === 'assigned');
    const before = await decisionOf(first.conversationId);
    assert.equal(before.customer?.status, 'ok');
    await setFault('crm', { mode: 'hang' });
    try {
      const [again, never] = await Promise.all([startWith(b, seenNow, { group: 'crm' }), startWith(b, unseen, { group: 'crm' }, 1)]);
      await observer.follow([again.conversationId, never.conversationId]);
      for (const c of [again, never]) await waitFor(`the VIP ${c.customerId} assigned with the CRM hanging`, () => dispatchOutcome(observer.events(c.conversationId)) === 'assigned');
      // Seen before: the deadline gave up on the live call; the last known profile stands in, marked stale with when it was read and why.
      const known = await decisionOf(again.conversationId);
      assert.deepEqual(known.customer, { name: 'customer', connector: 'crm-python', status: 'stale', fetchedAt: before.customer?.fetchedAt, reason: 'UPSTREAM_TIMEOUT' });
      assert.equal(known.facts['customer.tier'], 'vip');
      assert.ok(!known.missing.includes('customer'), `a known source is not missing: ${JSON.stringify(known.missing)}`);
      assert.equal(known.priority, 50, 'the VIP rule fired on the last known tier');
      assert.deepEqual(known.outcomes.map((o) => [o.rule, o.outcome]), [['vip first', 'fired']]);
      // Never seen: nothing to fall back on — missing, and why.
      const unknown = await decisionOf(never.conversationId);
      assert.deepEqual(unknown.customer, { name: 'customer', connector: 'crm-python', status: 'missing', reason: 'UPSTREAM_TIMEOUT' });
      assert.ok(unknown.missing.includes('customer'));
      assert.equal(unknown.priority, 0, 'the VIP rule could not fire on an unknown tier');
    } finally {
      await setFault('crm', { mode: 'ok' });
    }
  });

  test('restart everything (both nodes SIGKILLed, Redis stopped and started on its append-only file): the queue, the open offer and a delayed ticket job come back; the offer expires and moves on, the job runs, dispatch continues', async () => {
    const lazy = await simAgent({ profile: RESTART_LAZY, behaviour: 'never', urls: [b.url] });
    agents.push(lazy);
    await waitFor('the lazy restart agent online', async () => (await queueOf(b, 'restart')).agents.online === 1);
    const waitingOnes: StartedConversation[] = [];
    for (let i = 0; i < 5; i += 1) waitingOnes.push(await started(b, { group: 'restart' }, i));
    const offered = await waitFor('an offer to the lazy agent', () => lazy.offers[0]);
    await waitFor('the other four queued', async () => (await queueOf(b, 'restart')).queued === 4);
    const before = await queueOf(b, 'restart');
    assert.equal(before.openOffers, 1);

    // A message left while the tickets system is down: its job waits in BullMQ for its next attempt (seconds away).
    await setFault('tickets', { mode: 'down' });
    const night = await started(b, { group: 'night' });
    await waitFor('the night visitor asked to leave a message', () => observer.events(night.conversationId).some((e) => e.type === 'conversation.message_requested'));
    const left = await fetch(`${b.url}/v1/conversations/${night.conversationId}/leave-message`, {
      method: 'POST', headers: { authorization: `Bearer ${night.token}`, origin: CHAT_ORIGIN, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'call me back', email: 'restart@example.com' }),
    });
    assert.equal(left.status, 200, await left.clone().text());
    const message = await waitFor('the message left', () => observer.events(night.conversationId).find((e) => e.type === 'conversation.message_left'));
    const jobId = String(message.data.ticketJobId);
    await waitFor('the ticket job waiting for its next attempt', async () => {
      const res = await b.api('/v1/admin/jobs?state=delayed&queue=message-tickets&limit=1000', { headers: { 'x-api-key': DISPATCH_ADMIN_KEY } });
      return ((await res.json()) as { jobs: { id: string }[] }).jobs.some((j) => j.id === jobId);
    });
    await setFault('tickets', { mode: 'ok' });

    await Promise.all(world.nodes.map((n) => n.kill()));
    assert.ok(!observer.events(night.conversationId).some((e) => e.type === 'conversation.ticket_opened'), 'no ticket before the restart');
    await lazy.stop();
    await world.restartRedis();
    // On the same ports: the clients of the old nodes come back by themselves.
    const [a2, b2] = await Promise.all([world.start('a2', { port: a.port }), world.start('b2', { port: b.port })]);
    const restored = await queueOf(a2, 'restart');
    assert.equal(restored.queued + restored.openOffers, 5, 'the five are still in dispatch: queued, or the one offered');
    assert.ok(restored.openOffers <= 1);

    // The offer made before the restart expires by the store's clock, swept by the new nodes.
    const ids = waitingOnes.map((c) => c.conversationId);
    const reader = await streamObserver([a2.url, b2.url]);
    try {
      await reader.follow([...ids, night.conversationId]);
      // The job comes back from Redis with its delay and runs on a new node.
      await waitFor('the ticket of the message left before the restart', () => reader.events(night.conversationId).some((e) => e.type === 'conversation.ticket_opened'), { timeoutMs: 20_000 });
      await waitFor('the pre-restart offer expired', () => reader.events(offered.conversationId).some((e) => e.type === 'conversation.offer_ended' && e.data.offerId === offered.offerId && e.data.outcome === 'expired'));
      const helper = await simAgent({ profile: RESTART_PROMPT, behaviour: 'prompt', urls: [a2.url, b2.url] });
      agents.push(helper);
      let queue = {};
      await waitFor('all five assigned after the restart', async () => {
        queue = await queueOf(a2, 'restart');
        return ids.every((id) => dispatchOutcome(reader.events(id)) === 'assigned');
      }, { timeoutMs: 20_000, detail: () => `helper offers ${JSON.stringify(helper.offers)} accepts ${JSON.stringify(helper.accepts)} frames ${JSON.stringify(helper.client.frames().slice(0, 8))}; queue: ${JSON.stringify(queue)}; streams: ${JSON.stringify(ids.map((id) => reader.events(id).map((e) => e.type.replace('conversation.', ''))))}` });
      const streams = await readStreams(b2, ids);
      assert.deepEqual(streamViolations(streams), []);
      for (const id of ids) assert.deepEqual(assignedAgents(streams.get(id)!), [RESTART_PROMPT.id], `${id} assigned once, to the agent online after the restart`);
    } finally {
      await reader.close();
    }
  });
});

