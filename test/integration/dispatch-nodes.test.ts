import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chat } from '../support/chat-rest.ts';
import { dispatchEnv, dispatchRig, own } from '../support/dispatch-rig.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait.ts';

// Routing dispatch over two gateway nodes sharing the test Redis: any node routes, pumps and
// sweeps; an agent's offers reach its sockets on whichever node they are (fan-out `agent.frame`).
let a: TestGateway;
let b: TestGateway;
const rig = dispatchRig();

before(async () => {
  [a, b] = await Promise.all([startTestGateway(dispatchEnv()), startTestGateway(dispatchEnv())]);
  await rig.rules(a, {
    version: own('nodes'), defaultGroup: own('nodes-unserved'),
    groups: { [own('n-expiry')]: { offerTimeoutMs: 300 } },
    rules: [{ name: 'vip', when: { fact: 'customer.tier', eq: 'vip' }, then: { priority: 50 } }],
  }, [b]);
});
after(async () => {
  await rig.close();
  await Promise.all([a?.stop(), b?.stop()]);
});

/** What both nodes' dispatch logged about this conversation or at warn and above: a failed wait shows it. */
const dispatchLogs = (id: string) => () => [a, b].map((gw, i) => gw.logs
  .filter((l) => l.module === 'dispatch' && (l.conversationId === id || Number(l.level) >= 40 || typeof l.agentId === 'string'))
  .slice(-40).map((l) => `${'ab'[i]} ${JSON.stringify(l)}`).join('\n')).join('\n');

const eventsOf = async (gw: TestGateway, id: string): Promise<any[]> => (await chat(gw, undefined, 'GET', `/v1/conversations/${id}/events`)).body.events;

describe('routing dispatch on two nodes', () => {
  test('a conversation started on one node is offered to an agent connected to the other, who accepts there', async () => {
    const agentId = await rig.agentIn(a, 'nora', [own('n-cross')]);
    const agent = await rig.online(b, agentId);
    const id = await rig.start(a, (await rig.visitor(a)).token, own('n-cross'));
    const offer = await rig.offerTo(agent, id);
    const accepted = await chat(b, agent.token, 'POST', `/v1/conversations/${id}/accept`, { offerId: offer.offerId });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.deepEqual([accepted.body.conversation.status, accepted.body.conversation.agentId], ['assigned', agentId]);
    assert.deepEqual((await rig.routingOf(a, id)).offers.map((o: any) => [o.agentId, o.outcome]), [[agentId, 'accepted']]);
  });

  test('a declined offer goes on to the next agent, on the other node', async () => {
    const group = own('n-decline');
    const [x, y] = await Promise.all([rig.agentIn(a, 'xavi', [group]), rig.agentIn(a, 'yuki', [group])]);
    const sockets = new Map([[x, await rig.online(a, x)], [y, await rig.online(b, y)]]);
    const id = await rig.start(b, (await rig.visitor(b)).token, group);
    const first = await waitFor('the first offer', async () => (await rig.routingOf(a, id)).offers[0], { detail: dispatchLogs(id) });
    const firstAgent = sockets.get(first.agentId)!;
    await rig.offerTo(firstAgent, id);
    // Over the socket, as a console would.
    const declined = await firstAgent.request({ type: 'command', conversationId: id, command: 'decline', offerId: first.offerId });
    assert.equal(declined.type, 'ack', JSON.stringify(declined));
    const other = first.agentId === x ? y : x;
    await rig.offerTo(sockets.get(other)!, id);
    assert.deepEqual((await rig.routingOf(b, id)).offers.map((o: any) => [o.agentId, o.outcome]), [[first.agentId, 'declined'], [other, 'open']]);
  });

  test('an offer left to expire ends once, though both nodes sweep, and moves on', async () => {
    const group = own('n-expiry');
    const [p, q] = await Promise.all([rig.agentIn(a, 'pete', [group]), rig.agentIn(a, 'quin', [group])]);
    const sockets = new Map([[p, await rig.online(a, p)], [q, await rig.online(b, q)]]);
    const id = await rig.start(a, (await rig.visitor(a)).token, group);
    const first = await waitFor('the first offer', async () => (await rig.routingOf(a, id)).offers[0], { detail: dispatchLogs(id) });
    const other = first.agentId === p ? q : p;
    await rig.offerTo(sockets.get(other)!, id);
    const ended = (await eventsOf(b, id)).filter((e) => e.type === 'conversation.offer_ended');
    assert.deepEqual(ended.map((e) => [e.data.offerId, e.data.outcome]), [[first.offerId, 'expired']]);
  });
});
