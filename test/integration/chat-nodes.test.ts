import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { gatewayProcesses, type GatewayProcess } from '../support/gateway-process.ts';
import { randomUUID } from 'node:crypto';
import { agentSocket, visitorSession, visitorSocket } from '../support/chat-principals.ts';
import { chatNodeEnv, readConversation, resumingClient, type ReceivedEvent, type ResumingClient } from '../support/chat-nodes.ts';
import { waitFor } from '../support/wait.ts';
import type { Frame } from '../support/ws-client.ts';

// Gateway processes sharing the test Redis and Kafka, as ops run several nodes: the chat must not
// care which node a socket is on, and must lose nothing acknowledged when one dies.
const nodes = gatewayProcesses();
const env = chatNodeEnv();
let a: GatewayProcess;
let b: GatewayProcess;
let c: GatewayProcess;
before(async () => {
  [a, b, c] = await Promise.all([nodes.start({ name: 'a', env }), nodes.start({ name: 'b', env }), nodes.start({ name: 'c', env })]);
});

const messages = (events: readonly ReceivedEvent[]) => events.filter((e) => e.type === 'conversation.message_sent');
const texts = (events: readonly ReceivedEvent[], authorKind: string) =>
  messages(events).filter((e) => (e.data.author as { kind: string }).kind === authorKind).map((e) => e.data.text as string);

/** Events of one socket's conversation arrived each once, in seq order. */
function assertOnceInOrder(events: readonly ReceivedEvent[], who: string): void {
  const seqs = events.map((e) => e.seq);
  assert.deepEqual(seqs, [...new Set(seqs)].sort((x, y) => x - y), `${who}: each event once, in seq order (got ${seqs.join(',')})`);
}

/**
 * What a socket received of a conversation is what is stored, as its principal may see it: each
 * event once, in seq order, none missing (read over REST with the same token, or the service key).
 */
async function assertAllOnce(client: ResumingClient, who: string, node: GatewayProcess, conversationId: string, token?: string): Promise<void> {
  const api = token === undefined ? node : { api: (path: string) => fetch(`${node.url}${path}`, { headers: { authorization: `Bearer ${token}` } }) };
  const stored = (await readConversation(api, conversationId)).map((e) => e.seq);
  assert.deepEqual(client.events(conversationId).map((e) => e.seq), stored, `${who}: every event it may see, each once, in seq order`);
}

/** Sends messages one after the other, each once the previous is acked. */
async function say(client: ResumingClient, conversationId: string, lines: readonly string[]): Promise<Frame[]> {
  const acks: Frame[] = [];
  for (const text of lines) acks.push(await client.request({ type: 'message.send', conversationId, contentType: 'text', text }));
  return acks;
}

/** A visitor with a conversation an agent accepted, each following it. */
async function conversationBetween(visitorUrls: string[], agentUrls: string[]): Promise<{ visitor: ResumingClient; agent: ResumingClient; conversationId: string; visitorToken: string }> {
  const session = await visitorSession({ url: visitorUrls[0]! });
  const visitor = await resumingClient({ urls: visitorUrls, connect: (node) => visitorSocket(node, session.token) });
  const agentId = `agent-${randomUUID()}`;
  const agent = await resumingClient({ urls: agentUrls, connect: (node) => agentSocket(node, agentId) });
  const conversationId = (await visitor.request({ type: 'conversation.start', subject: 'where is my parcel' })).conversationId as string;
  await visitor.follow(conversationId);
  await agent.request({ type: 'command', conversationId, command: 'accept' });
  await agent.follow(conversationId);
  return { visitor, agent, conversationId, visitorToken: session.token };
}

describe('chat across gateway processes sharing Redis and Kafka', () => {
  let visitor: ResumingClient;
  let agent: ResumingClient;
  let conversationId: string;
  let visitorToken: string;

  test('a visitor on node A and an agent on node B talk as if on one node: each message reaches the other once, in order, both ways', async () => {
    ({ visitor, agent, conversationId, visitorToken } = await conversationBetween([a.url, b.url], [b.url]));
    assert.equal(visitor.frames().find((f) => f.type === 'welcome')?.node, a.nodeId);
    assert.equal(agent.frames().find((f) => f.type === 'welcome')?.node, b.nodeId);

    const fromVisitor = Array.from({ length: 8 }, (_, i) => `visitor line ${i}`);
    const fromAgent = Array.from({ length: 8 }, (_, i) => `agent line ${i}`);
    // Both talk at once, each in order.
    await Promise.all([say(visitor, conversationId, fromVisitor), say(agent, conversationId, fromAgent)]);
    await agent.waitFor('the visitor\'s last line on the agent\'s socket', (f) => f.type === 'event' && (f.event as ReceivedEvent).data.text === fromVisitor.at(-1));
    await visitor.waitFor('the agent\'s last line on the visitor\'s socket', (f) => f.type === 'event' && (f.event as ReceivedEvent).data.text === fromAgent.at(-1));

    for (const [client, who] of [[visitor, 'visitor'], [agent, 'agent']] as const) {
      const events = client.events(conversationId);
      assertOnceInOrder(events, who);
      assert.deepEqual(texts(events, 'visitor'), fromVisitor, `${who} sees the visitor's lines once each, in order`);
      assert.deepEqual(texts(events, 'agent'), fromAgent, `${who} sees the agent's lines once each, in order`);
    }
    await assertAllOnce(visitor, 'visitor', a, conversationId, visitorToken);
    await assertAllOnce(agent, 'agent', b, conversationId);
  });

  test('node A is SIGKILLed while the visitor keeps sending: the visitor resumes on node B with no gap and no duplicate, resends what was not acked, and every acked message is stored once, in order', async (t) => {
    const onA = visitor.socket;
    const WINDOW = 4;
    const sent: string[] = [];
    const acked = (id: string) => visitor.acks(id).length > 0;
    // The visitor keeps WINDOW messages in flight on A until its socket goes.
    const pumping = (async () => {
      for (let i = 0; ; i += 1) {
        await waitFor('room in the send window', () => onA.ws.readyState !== onA.ws.OPEN || sent.filter((id) => !acked(id)).length < WINDOW);
        if (onA.ws.readyState !== onA.ws.OPEN) return;
        const id = `kill-${i}`;
        onA.send({ type: 'message.send', id, conversationId, contentType: 'text', text: id });
        sent.push(id);
      }
    })();
    await waitFor('a dozen messages acked on A', () => sent.filter(acked).length >= 12);
    await a.kill();
    // The agent on B goes on meanwhile: the visitor gets it in its resume gap, or live if it is back already.
    const [meanwhile] = await say(agent, conversationId, ['while you were away']);
    await pumping;
    await waitFor('the visitor\'s socket on A gone', () => visitor.closes.length > 0);
    const ackedOnA = new Map(sent.filter(acked).map((id) => [id, visitor.acks(id)[0]!.seq as number]));
    const unacked = sent.filter((id) => !acked(id));

    // The visitor is back on B and follows the conversation from its last seq.
    await visitor.waitFor('the visitor subscribed again on B', (f) => f.type === 'subscribed' && visitor.connections === 2 && visitor.socket.frames.includes(f));
    assert.equal(visitor.closes[0]?.url, a.url);
    assert.equal(visitor.socket.frames.find((f) => f.type === 'welcome')?.node, b.nodeId);
    const resent = [];
    for (const id of unacked) resent.push(await visitor.request({ type: 'message.send', id, conversationId, contentType: 'text', text: id }));
    t.diagnostic(`${ackedOnA.size} acked on A, ${unacked.length} not (${resent.filter((r) => r.duplicate).length} of them stored before A died)`);
    const after = await say(visitor, conversationId, ['back on B']);
    await say(agent, conversationId, ['welcome back']);
    await visitor.waitFor('the agent\'s answer after the resume', (f) => f.type === 'event' && (f.event as ReceivedEvent).data.text === 'welcome back');
    await agent.waitFor('the visitor\'s line after the resume', (f) => f.type === 'event' && (f.event as ReceivedEvent).seq === after[0]?.seq);

    const stored = await readConversation(b, conversationId, 'messages');
    const byClientId = new Map<string, number[]>();
    for (const e of stored) if (typeof e.data.clientId === 'string') byClientId.set(e.data.clientId, [...(byClientId.get(e.data.clientId) ?? []), e.seq]);
    for (const [id, seq] of ackedOnA) assert.deepEqual(byClientId.get(id), [seq], `${id}, acked on A, is stored once at its seq`);
    for (const id of unacked) assert.equal(byClientId.get(id)?.length, 1, `${id}, unacked when A died, is stored once after its resend`);
    assert.deepEqual(stored.filter((e) => String(e.data.text).startsWith('kill-')).map((e) => e.data.text), sent, 'in the order the visitor sent them');
    assert.equal(visitor.events(conversationId).filter((e) => e.seq === meanwhile?.seq).length, 1, 'what the agent said while the visitor was away reached it once');
    await assertAllOnce(visitor, 'visitor (on A, then B)', b, conversationId, visitorToken);
    await assertAllOnce(agent, 'agent', b, conversationId);
  });

  test('a node stopped with SIGTERM closes its sockets with 1012; its clients reconnect to another node after a jittered backoff and resume', async () => {
    const onC = await conversationBetween([c.url, b.url], [c.url, b.url]);
    await say(onC.visitor, onC.conversationId, ['before the restart']);
    await onC.agent.waitFor('the line before the restart', (f) => f.type === 'event' && (f.event as ReceivedEvent).data.text === 'before the restart');

    assert.deepEqual(await c.stop(), { code: 0, signal: null }, 'node C stopped gracefully');
    for (const [client, who] of [[onC.visitor, 'visitor'], [onC.agent, 'agent']] as const) {
      await waitFor(`the ${who}'s socket on C closed`, () => client.closes.length > 0);
      assert.deepEqual(client.closes[0], { url: c.url, code: 1012 }, `the ${who}'s socket was closed with 1012 (SHUTTING_DOWN)`);
      await client.waitFor(`the ${who} subscribed again on B`, (f) => f.type === 'subscribed' && client.connections === 2 && client.socket.frames.includes(f));
    }
    await say(onC.visitor, onC.conversationId, ['after the restart']);
    await say(onC.agent, onC.conversationId, ['still here']);
    await onC.visitor.waitFor('the agent\'s line after the restart', (f) => f.type === 'event' && (f.event as ReceivedEvent).data.text === 'still here');
    await onC.agent.waitFor('the visitor\'s line after the restart', (f) => f.type === 'event' && (f.event as ReceivedEvent).data.text === 'after the restart');
    await assertAllOnce(onC.visitor, 'visitor (on C, then B)', b, onC.conversationId, onC.visitorToken);
    await assertAllOnce(onC.agent, 'agent (on C, then B)', b, onC.conversationId);
    await Promise.all([onC.visitor.close(), onC.agent.close(), visitor.close(), agent.close()]);
  });
});
