import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createMemoryConversationStore } from '../../src/adapters/memory/memory-conversation-store.ts';
import { createMemoryJobBackend } from '../../src/adapters/memory/memory-job-backend.ts';
import { createMemoryLeaseStore } from '../../src/adapters/memory/memory-lease-store.ts';
import { createMemoryTicketStore } from '../../src/adapters/memory/memory-ticket-store.ts';
import { createRedisChatFanout, FANOUT_SIGNALS_CHANNEL } from '../../src/adapters/redis/redis-chat-fanout.ts';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import { createRedisPresenceStore } from '../../src/adapters/redis/redis-presence-store.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { PresenceChange } from '../../src/ports/presence-store.ts';
import { createAgentTokenVerifier } from '../../src/modules/auth/agent-tokens.ts';
import { createAuthenticator } from '../../src/modules/auth/authenticator.ts';
import { createUpgradeAuthenticator } from '../../src/modules/auth/upgrade-auth.ts';
import { createWsTickets } from '../../src/modules/auth/ws-tickets.ts';
import type { ConversationEvent } from '../../src/modules/chat/conversation.types.ts';
import { createConversations } from '../../src/modules/chat/conversations.service.ts';
import { createChatSockets, type ChatSockets } from '../../src/modules/chat/ws/chat-sockets.ts';
import { AGENT_AWAY_TOPIC, AGENT_FRAME_TOPIC } from '../../src/modules/chat/ws/dispatch-frames.ts';
import { createProtocol, loadAsyncApi } from '../../src/modules/chat/ws/protocol.ts';
import { createJobQueues } from '../../src/modules/jobs/job-queues.ts';
import { createMetrics } from '../../src/modules/observability/metrics.ts';
import { agentSocket, CHAT_ENV, visitorSocket } from '../support/chat-principals.ts';
import { ROOT_DIR, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TEST_REDIS_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';
import { connectWs, type Frame, type WsTestClient } from '../support/ws-client.ts';

// What dispatch needs of the chat sockets, over real sockets and the shared Redis: command frames
// for offers and left messages, its frames relayed to an agent's sockets on every node (`agent.frame`),
// an agent set away everywhere (`agent.away`), queue frames to a conversation's visitors here, and
// presence changes told on the node where they happen.
const protocol = createProtocol(loadAsyncApi(ROOT_DIR));
const log = pino({ level: 'silent' });
const assertServerFrame = (frame: Frame) => assert.deepEqual(protocol.checkServerFrame(frame), [], JSON.stringify(frame));

describe('dispatch over the chat sockets of two nodes', () => {
  let a: TestGateway;
  let b: TestGateway;
  let redis: RedisHandle;
  let signal: (topic: string, payload: unknown) => Promise<void>;
  before(async () => {
    [a, b] = await Promise.all([startTestGateway(CHAT_ENV), startTestGateway(CHAT_ENV)]);
    redis = createRedis(TEST_REDIS_URL, log, { name: 'test-signals' });
    // The real fan-out adapter, as dispatch on some third node would publish.
    const fanout = createRedisChatFanout({ client: redis.client, log });
    signal = (topic, payload) => fanout.signal(topic, payload);
    await waitFor('the test Redis connection', async () => redis.isUp());
    // Pub/sub keeps nothing for a subscriber that is not there yet: a node whose first subscribe
    // failed (a slow Redis at start) retries it, and a signal sent before would be lost to it.
    await waitFor('both nodes subscribed to the chat fan-out', async () => Number(((await redis.client.pubsub('NUMSUB', FANOUT_SIGNALS_CHANNEL)) as [string, number])[1]) >= 2, {
      detail: () => [a, b].flatMap((gw) => gw.logs.filter((l) => String(l.msg).includes('fan-out'))).map((l) => JSON.stringify(l)).join('\n'),
    });
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.close();
  });

  test('an offer frame reaches every socket of its agent on every node, and no other agent', async () => {
    const agentId = `ag-${randomUUID()}`;
    const [onA, onB, other] = await Promise.all([agentSocket(a, agentId), agentSocket(b, agentId), agentSocket(b, `ag-${randomUUID()}`)]);
    const offer = { type: 'offer', offerId: randomUUID(), conversationId: randomUUID(), expiresAt: new Date(Date.now() + 30_000).toISOString(), group: 'sales', priority: 70, reason: 'sticky' };
    await signal(AGENT_FRAME_TOPIC, { agentId, frame: offer });
    for (const socket of [onA, onB]) {
      const got = await socket.waitFor('the offer', (f) => f.type === 'offer');
      assert.deepEqual(got, offer);
      assertServerFrame(got);
    }
    // A frame of a type the document does not declare is not written; the next offer still is.
    await signal(AGENT_FRAME_TOPIC, { agentId, frame: { type: 'nonsense', x: 1 } });
    await signal(AGENT_FRAME_TOPIC, { agentId, frame: { ...offer, offerId: 'second' } });
    await onA.waitFor('the second offer', (f) => f.type === 'offer' && f.offerId === 'second');
    assert.ok(!onA.frames.some((f) => f.type === 'nonsense'));
    assert.ok(!other.frames.some((f) => f.type === 'offer'));
    assert.deepEqual([...onA.invalid, ...onB.invalid], []);
    await Promise.all([onA, onB, other].map((s) => s.close()));
  });

  test('agent.away sets every socket of the agent away on every node: staff see it away, and it comes back online by itself', async () => {
    const agentId = `ag-${randomUUID()}`;
    const supervisor = await agentSocket(b, `sup-${randomUUID()}`, 'supervisor');
    const [onA, onB] = await Promise.all([agentSocket(a, agentId), agentSocket(b, agentId)]);
    await supervisor.waitFor('the agent online', (f) => f.type === 'presence' && f.agentId === agentId && f.status === 'online');
    const from = supervisor.frames.length;
    await signal(AGENT_AWAY_TOPIC, { agentId, reason: 'missed 3 offers' });
    await supervisor.waitFor('the agent away', (f) => f.type === 'presence' && f.agentId === agentId && f.status === 'away', from);
    // Away only once both sockets are (online if any says online): each node set its own socket.
    await onA.waitFor('its own presence, away', (f) => f.type === 'presence' && f.agentId === agentId && f.status === 'away');
    const back = supervisor.frames.length;
    onB.send({ type: 'presence', status: 'online' });
    await supervisor.waitFor('the agent online again', (f) => f.type === 'presence' && f.agentId === agentId && f.status === 'online', back);
    await Promise.all([supervisor, onA, onB].map((s) => s.close()));
  });

  test('queue frames go to the visitors that follow the conversation on this node only', async () => {
    const visitor = await visitorSocket(a);
    const { conversationId } = await visitor.request({ type: 'conversation.start', id: randomUUID(), topic: 'returns', page: 'https://shop.example/orders/42' }) as Frame & { conversationId: string };
    await visitor.request({ type: 'subscribe', id: randomUUID(), conversationId, afterSeq: 0 });
    const agent = await agentSocket(a, `ag-${randomUUID()}`);
    await agent.request({ type: 'subscribe', id: randomUUID(), conversationId, afterSeq: 0 });
    assert.ok(a.chat.visitorFollowed().includes(conversationId));
    assert.ok(!b.chat.visitorFollowed().includes(conversationId), 'its visitor is on node A');
    assert.equal(b.chat.sendToVisitors(conversationId, 'queue', { conversationId, position: 3, estimatedWaitMs: null }), 0);
    assert.equal(a.chat.sendToVisitors(conversationId, 'queue', { conversationId, position: 3, estimatedWaitMs: 42_000 }), 1);
    const queue = await visitor.waitFor('the queue frame', (f) => f.type === 'queue');
    assert.deepEqual(queue, { type: 'queue', conversationId, position: 3, estimatedWaitMs: 42_000 });
    assertServerFrame(queue);
    assert.ok(!agent.frames.some((f) => f.type === 'queue'), 'staff get no queue frames');
    const state = await (await a.api(`/v1/conversations/${conversationId}`)).json() as { topic?: string; page?: string };
    assert.deepEqual([state.topic, state.page], ['returns', 'https://shop.example/orders/42']);
    await visitor.close();
    await waitFor('the visitor gone from the followed list', async () => !a.chat.visitorFollowed().includes(conversationId));
    await agent.close();
  });

  test('command frames: accept with an offer id, decline and leave_message, with their refusals as error frames', async () => {
    const visitor = await visitorSocket(b);
    const { conversationId } = await visitor.request({ type: 'conversation.start', id: randomUUID() }) as Frame & { conversationId: string };
    const agentId = `ag-${randomUUID()}`;
    const agent = await agentSocket(b, agentId);
    const refusal = async (client: WsTestClient, frame: Record<string, unknown>) => {
      const answer = await client.request({ type: 'command', id: randomUUID(), conversationId, ...frame });
      assertServerFrame(answer);
      return [answer.type, answer.code, (answer.extensions as { field?: string } | undefined)?.field];
    };
    assert.deepEqual(await refusal(agent, { command: 'decline' }), ['error', 'VALIDATION_FAILED', 'offerId']);
    assert.deepEqual(await refusal(agent, { command: 'decline', offerId: 'never-made' }), ['error', 'OFFER_EXPIRED', undefined]);
    assert.deepEqual(await refusal(visitor, { command: 'leave_message' }), ['error', 'VALIDATION_FAILED', 'text']);
    assert.deepEqual(await refusal(visitor, { command: 'leave_message', text: 'call me back' }), ['error', 'VALIDATION_FAILED', 'email']);
    const accepted = await agent.request({ type: 'command', id: randomUUID(), conversationId, command: 'accept', offerId: 'manual-1' });
    assert.equal(accepted.type, 'ack');
    const events = (await (await b.api(`/v1/conversations/${conversationId}/events`)).json() as { events: ConversationEvent[] }).events;
    assert.deepEqual(events.at(-1)?.data, { agentId, offerId: 'manual-1' });
    assert.deepEqual([...visitor.invalid, ...agent.invalid], []);
    await Promise.all([visitor, agent].map((s) => s.close()));
  });
});

describe('presence changes are told on the node where they happen', () => {
  test('a socket opening, saying away, closing, and a dead socket\'s lease swept by this node are each told once', async () => {
    const config = loadConfig({ ...CHAT_ENV, OMNIGATE_API_KEYS: 'test:test-key-0123456789abcdef', REDIS_URL: TEST_REDIS_URL, OMNIGATE_WS_HEARTBEAT_MS: '100', OMNIGATE_WS_PRESENCE_TTL_MS: '400' }, ROOT_DIR);
    const redis = createRedis(TEST_REDIS_URL, log, { name: 'test-presence' });
    await waitFor('the test Redis connection', async () => redis.isUp());
    const presence = createRedisPresenceStore(redis);
    const agentJwt = config.identity.agentJwt!;
    const authenticator = createAuthenticator({ apiKeys: config.apiKeys, adminKeys: [], agentTokens: createAgentTokenVerifier({ config: agentJwt, clockToleranceMs: 1_000, log }) });
    const tickets = createWsTickets({ store: createMemoryTicketStore(), ttlMs: 10_000 });
    const jobs = createJobQueues({ backend: createMemoryJobBackend(), log, metrics: createMetrics(), attempts: 1, backoffMs: 1 });
    const conversations = createConversations({ store: createMemoryConversationStore<ConversationEvent>({ nodeId: 'presence-test' }), jobs, locks: createMemoryLeaseStore(), config: config.chat, log });
    const server = createServer();
    const changes: PresenceChange[] = [];
    const agentId = `ag-${randomUUID()}`;
    const sockets: ChatSockets = await createChatSockets({
      server, config: config.ws, nodeId: 'presence-test', log, protocol, authenticate: (req) => createUpgradeAuthenticator({ authenticator, tickets, originAllowed: () => true }).authenticate(req),
      conversations, fanout: createRedisChatFanout({ client: redis.client, log }), presence, metrics: createMetrics(),
      onPresenceChange: (change) => { if (change.agentId === agentId) changes.push(change); },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      const socket = await agentSocket({ url }, agentId);
      await waitFor('online', async () => changes.length === 1);
      socket.send({ type: 'presence', status: 'away' });
      await waitFor('away', async () => changes.length === 2);
      await socket.close();
      await waitFor('offline', async () => changes.length === 3);
      // A socket of a node that died: its lease is never renewed, and this node's heartbeat sweeps it.
      await presence.set(agentId, 'dead-node.1', 'online', 200);
      await waitFor('swept', async () => changes.length === 4);
      assert.deepEqual(changes.map((c) => `${c.before}>${c.after}`), ['offline>online', 'online>away', 'away>offline', 'online>offline']);
      const direct = await connectWs(url, { token: 'not-a-token' });
      assert.equal((await direct.closed).code, 4401);
    } finally {
      await sockets.close();
      server.close();
      await jobs.close(1_000);
      await redis.close();
    }
  });
});
