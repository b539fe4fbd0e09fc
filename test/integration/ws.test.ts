import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { API_KEY, perTestGateways, ROOT_DIR, type TestGateway } from '../support/gateway.ts';
import { loadAsyncApi } from '../../src/modules/chat/ws/protocol.ts';
import { waitFor } from '../support/wait.ts';
import { chatFrom } from '../support/chat-rest.ts';
import { loopbackAddress } from '../support/ports.ts';
import { agentSocket, agentToken, CHAT_ENV, CHAT_ORIGIN, visitorSession, visitorSocket, welcomed } from '../support/chat-principals.ts';
import { connectSilentSocket, connectWs, textMessage, type Frame, type WsTestClient } from '../support/ws-client.ts';

const { gateway } = perTestGateways();
const chatGateway = (env: Record<string, string> = {}) => gateway({ ...CHAT_ENV, ...env });

/** Sends a frame with a fresh id and waits for its answer. */
const request = (client: WsTestClient, frame: Record<string, unknown>): Promise<Frame> => client.request(frame);
const say = textMessage;

/** A conversation a visitor started and an agent (a new id unless given) accepted; both sockets follow it. */
async function conversation(gw: TestGateway, agentId = `a-${randomUUID()}`) {
  const visitor = await visitorSocket(gw);
  const started = await request(visitor, { type: 'conversation.start', text: 'hello' });
  assert.equal(started.type, 'ack', JSON.stringify(started));
  const conversationId = String(started.conversationId);
  assert.equal((await request(visitor, { type: 'subscribe', conversationId, afterSeq: 0 })).type, 'subscribed');
  const agent = await agentSocket(gw, agentId);
  assert.equal((await request(agent, { type: 'subscribe', conversationId, afterSeq: 0 })).type, 'subscribed');
  assert.equal((await request(agent, { type: 'command', conversationId, command: 'accept' })).type, 'ack');
  return { visitor, agent, agentId, conversationId };
}

const seqs = (client: WsTestClient, conversationId: string) => client.events(conversationId).map((e) => e.seq);
const consecutive = (list: number[]) => list.every((s, i) => i === 0 || s === list[i - 1]! + 1);

test('refuses an upgrade without valid credentials with the catalogue close code', async () => {
  const gw = await chatGateway();
  assert.equal((await (await connectWs(gw.url)).closed).code, 4401);
  assert.equal((await (await connectWs(gw.url, { token: 'not-a-known-key-0123456789' })).closed).code, 4401);
  assert.equal((await (await connectWs(gw.url, { token: await agentToken('a-1', { ttlMs: -60_000 }) })).closed).code, 4001);
  const { token } = await visitorSession(gw);
  const foreign = await connectWs(gw.url, { protocols: ['omnigate.v1', `bearer.${token}`], headers: { origin: 'https://evil.example' } });
  assert.equal((await foreign.closed).code, 4403);
  // A browser offering subprotocols gets one selected, or it would not see the close code.
  assert.equal(foreign.ws.protocol, 'omnigate.v1');
  const service = await welcomed(await connectWs(gw.url, { apiKey: API_KEY }));
  assert.deepEqual(service.frames[0]?.principal, { kind: 'service', id: 'test' });
});

test('serves the protocol document at /asyncapi.json without a key', async () => {
  const gw = await chatGateway();
  const reply = await fetch(`${gw.url}/asyncapi.json`);
  assert.equal(reply.status, 200);
  assert.deepEqual(await reply.json(), loadAsyncApi(ROOT_DIR));
});

test('acks a message with its seq, delivers it to the other participant, and keeps internal notes from the visitor', async () => {
  const gw = await chatGateway();
  const { visitor, agent, conversationId } = await conversation(gw);
  const sent = await request(visitor, say(conversationId, 'where is my order?'));
  assert.equal(sent.type, 'ack');
  assert.equal(sent.duplicate, false);
  const delivered = await agent.waitFor('the message', (f) => f.type === 'event' && (f.event as { seq: number }).seq === sent.seq);
  assert.equal((delivered.event as { data: { text: string } }).data.text, 'where is my order?');
  const note = await request(agent, { ...say(conversationId, 'VIP customer'), visibility: 'internal' });
  const reply = await request(agent, say(conversationId, 'on its way'));
  await visitor.waitFor('the reply', (f) => f.type === 'event' && (f.event as { seq: number }).seq === reply.seq);
  await agent.waitFor('the note', (f) => f.type === 'event' && (f.event as { seq: number }).seq === note.seq);
  assert.ok(!visitor.events(conversationId).some((e) => e.seq === note.seq || e.visibility === 'internal'), 'the visitor saw an internal note');
  assert.ok(consecutive(seqs(agent, conversationId)), `agent got ${seqs(agent, conversationId).join(',')}`);
});

test('a visitor cannot send agent commands or internal notes; its read receipt is stored and reaches the agent', async () => {
  const gw = await chatGateway();
  const { visitor, agent, conversationId } = await conversation(gw);
  for (const command of ['accept', 'close', 'handover']) {
    const refused = await request(visitor, { type: 'command', conversationId, command });
    assert.equal(refused.type, 'error', `${command}: ${JSON.stringify(refused)}`);
    assert.ok(['FORBIDDEN', 'INVALID_TRANSITION'].includes(String(refused.code)), `${command}: ${String(refused.code)}`);
  }
  const note = await request(visitor, { ...say(conversationId, 'pretend note'), visibility: 'internal' });
  assert.deepEqual([note.type, note.code], ['error', 'FORBIDDEN']);
  // Another visitor can neither follow nor write into it, nor signal typing there.
  const stranger = await visitorSocket(gw);
  const follow = await request(stranger, { type: 'subscribe', conversationId, afterSeq: 0 });
  assert.deepEqual([follow.type, follow.code], ['error', 'NOT_FOUND']);
  const write = await request(stranger, say(conversationId, 'intruding'));
  assert.equal(write.type, 'error');
  stranger.send({ type: 'typing', conversationId, isTyping: true });
  await stranger.waitFor('typing refused', (f) => f.type === 'error' && f.conversationId === conversationId && f.id === undefined);
  assert.ok(!agent.frames.some((f) => f.type === 'typing'), 'a stranger\'s typing reached the agent');
  const reply = await request(agent, say(conversationId, 'hello'));
  const read = await request(visitor, { type: 'read', conversationId, upToSeq: reply.seq });
  assert.equal(read.type, 'ack');
  const receipt = await agent.waitFor('the read receipt', (f) => f.type === 'event' && (f.event as { seq: number }).seq === read.seq);
  assert.deepEqual([(receipt.event as { type: string }).type, (receipt.event as { data: { upToSeq: number } }).data.upToSeq], ['conversation.read', reply.seq]);
});

test('a retried client id is acked again with the same seq and stored once', async () => {
  const gw = await chatGateway();
  const { visitor, agent, conversationId } = await conversation(gw);
  const id = randomUUID();
  const first = await request(visitor, say(conversationId, 'once', id));
  const again = await request(visitor, say(conversationId, 'once', id));
  assert.deepEqual([again.seq, again.duplicate], [first.seq, true]);
  const marker = await request(visitor, say(conversationId, 'after'));
  await agent.waitFor('the marker', (f) => f.type === 'event' && (f.event as { seq: number }).seq === marker.seq);
  assert.equal(agent.events(conversationId).filter((e) => e.data.text === 'once').length, 1);
});

test('resumes after a reconnect with the gap, then live events, no gap and no duplicate', async () => {
  const gw = await chatGateway();
  const { visitor, agent, conversationId } = await conversation(gw);
  const acked = await request(agent, say(conversationId, 'm0'));
  await visitor.waitFor('m0', (f) => f.type === 'event' && (f.event as { seq: number }).seq === acked.seq);
  const lastSeq = Math.max(...seqs(visitor, conversationId));
  await visitor.close();
  for (let i = 1; i <= 5; i++) await request(agent, say(conversationId, `m${i}`));
  // An internal note inside the gap: the visitor's resume must skip it.
  const note = await request(agent, { ...say(conversationId, 'note in the gap'), visibility: 'internal' });
  const back = await visitorSocket(gw, visitor.token);
  const subscribed = await request(back, { type: 'subscribe', conversationId, afterSeq: lastSeq });
  assert.equal(subscribed.type, 'subscribed');
  const live = await request(agent, say(conversationId, 'live'));
  await back.waitFor('the live message', (f) => f.type === 'event' && (f.event as { seq: number }).seq === live.seq);
  const got = seqs(back, conversationId);
  const texts = back.events(conversationId).filter((e) => e.type === 'conversation.message_sent').map((e) => e.data.text);
  assert.deepEqual(texts, ['m1', 'm2', 'm3', 'm4', 'm5', 'live']);
  assert.equal(new Set(got).size, got.length, `duplicates in ${got.join(',')}`);
  assert.ok(!got.includes(Number(note.seq)) && back.events(conversationId).every((e) => e.visibility === 'public'), 'the resume carried an internal event');
  assert.ok(got.every((s) => s > lastSeq));
  assert.ok(back.frames.findIndex((f) => f.type === 'subscribed') < back.frames.findIndex((f) => f.type === 'event'));
});

test('answers refetch when the position asked for is older than what is kept', async () => {
  const gw = await chatGateway({ OMNIGATE_CHAT_RETENTION_MS: '1000' });
  const { agent, conversationId } = await conversation(gw);
  assert.equal((await request(agent, { type: 'command', conversationId, command: 'close' })).type, 'ack');
  // Redis removes the closed conversation's stream once its retention has passed; until then a subscribe gets the events.
  const refetch = await waitFor('refetch', async () => {
    const from = agent.frames.length;
    await request(agent, { type: 'subscribe', conversationId, afterSeq: 0 });
    const answer = await agent.waitFor('events or refetch', (f) => (f.type === 'event' || f.type === 'refetch') && f.conversationId === conversationId, from);
    return answer.type === 'refetch' && answer;
  }, { intervalMs: 200 });
  assert.deepEqual(refetch, { type: 'refetch', conversationId, code: 'HISTORY_EXPIRED' });
});

test('answers malformed and invalid frames with error frames and keeps the socket open', async () => {
  const gw = await chatGateway();
  const client = await welcomed(await connectWs(gw.url, { apiKey: API_KEY }));
  client.send('{"type":');
  await client.waitFor('MALFORMED_JSON', (f) => f.type === 'error' && f.code === 'MALFORMED_JSON');
  client.send({ type: 'message.send', id: 'bad-1', conversationId: 'c-1', contentType: 'text' });
  const invalid = await client.waitFor('VALIDATION_FAILED', (f) => f.type === 'error' && f.id === 'bad-1');
  assert.equal(invalid.code, 'VALIDATION_FAILED');
  client.send({ type: 'no.such.frame', id: 'bad-2' });
  await client.waitFor('unknown type refused', (f) => f.type === 'error' && f.id === 'bad-2');
  client.send({ type: 'ping', id: 'p-1' });
  await client.waitFor('pong', (f) => f.type === 'pong' && f.id === 'p-1');
});

test('closes a socket that sends a frame over the size limit (1009) or floods (4429)', async () => {
  const gw = await chatGateway({ OMNIGATE_WS_MAX_FRAME_BYTES: '4096', OMNIGATE_WS_RATE_PER_SEC: '5', OMNIGATE_WS_RATE_BURST: '10' });
  const big = await welcomed(await connectWs(gw.url, { apiKey: API_KEY }));
  big.send({ type: 'ping', id: 'x'.repeat(10) , pad: 'y'.repeat(5000) });
  assert.equal((await big.closed).code, 1009);
  const flood = await welcomed(await connectWs(gw.url, { apiKey: API_KEY }));
  for (let i = 0; i < 50; i++) flood.send({ type: 'ping', id: `p-${i}` });
  assert.equal((await flood.closed).code, 4429);
  // The node counts what it closed, and both sockets are gone from its gauge once it saw them close.
  const metrics = await waitFor('the sockets gone from the gauge', async () => {
    const text = await (await gw.api('/metrics')).text();
    return /omnigate_ws_sockets\{kind="service"\} 0/.test(text) && text;
  });
  assert.match(metrics, /omnigate_ws_closed_total\{code="RATE_LIMITED"\} 1/);
});

test('reaps a socket that does not answer heartbeats with 4008', async () => {
  const gw = await chatGateway({ OMNIGATE_WS_HEARTBEAT_MS: '200', OMNIGATE_WS_PRESENCE_TTL_MS: '1000' });
  // One that answers protocol pings (as ws and browsers do) and sends nothing else stays.
  const live = await welcomed(await connectWs(gw.url, { apiKey: API_KEY }));
  const silent = await connectSilentSocket(gw.url, { 'x-api-key': API_KEY });
  assert.equal(await silent.closeCode, 4008);
  assert.ok(silent.pings() >= 1);
  assert.equal(live.ws.readyState, live.ws.OPEN);
  live.send({ type: 'ping', id: 'still-here' });
  await live.waitFor('pong', (f) => f.type === 'pong');
});

test('closes a socket whose token expires with 4001', async () => {
  // The node's heartbeat sweep ends expired sockets: a short one here.
  const gw = await chatGateway({ OMNIGATE_WS_HEARTBEAT_MS: '200' });
  const client = await welcomed(await connectWs(gw.url, { token: await agentToken('a-exp', { ttlMs: 1_000 }) }));
  assert.equal((await client.closed).code, 4001);
});

test('refuses a frame sent after the token expired, before any heartbeat sweep, with 4001', async () => {
  // The default heartbeat (25 s): only the check at each frame can end the socket this soon.
  const gw = await chatGateway();
  const token = await agentToken('a-exp-frame', { ttlMs: 2_000 });
  const client = await welcomed(await connectWs(gw.url, { token }));
  const expiresAt = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp * 1000;
  await waitFor('the token to expire', () => Date.now() > expiresAt);
  client.send({ type: 'ping', id: 'too-late' });
  assert.equal((await client.closed).code, 4001);
  assert.ok(!client.frames.some((f) => f.type === 'pong'), 'a frame after the expiry was answered');
});

test('signals typing to the other participant and agent presence to staff', async () => {
  const gw = await chatGateway();
  const { visitor, agent, agentId, conversationId } = await conversation(gw);
  visitor.send({ type: 'typing', conversationId, isTyping: true });
  const typing = await agent.waitFor('typing', (f) => f.type === 'typing');
  assert.deepEqual([typing.conversationId, typing.isTyping, (typing.participant as { kind: string }).kind], [conversationId, true, 'visitor']);
  assert.ok(!visitor.frames.some((f) => f.type === 'typing'), 'the typist got its own signal');
  const supervisor = await welcomed(await connectWs(gw.url, { token: await agentToken('sup-1', { role: 'supervisor' }) }));
  await supervisor.waitFor('the agent online', (f) => f.type === 'presence' && f.agentId === agentId && f.status === 'online');
  // A second tab: the agent is away only once every tab says so, offline once none is left.
  const tab = await agentSocket(gw, agentId);
  tab.send({ type: 'presence', status: 'away' });
  agent.send({ type: 'presence', status: 'away' });
  await supervisor.waitFor('the agent away', (f) => f.type === 'presence' && f.agentId === agentId && f.status === 'away');
  await agent.close();
  await tab.close();
  await supervisor.waitFor('the agent offline', (f) => f.type === 'presence' && f.agentId === agentId && f.status === 'offline');
  assert.deepEqual(supervisor.frames.filter((f) => f.type === 'presence' && f.agentId === agentId).map((f) => f.status), ['online', 'away', 'offline']);
  assert.ok(!visitor.frames.some((f) => f.type === 'presence'), 'a visitor got presence');
});

test('closes every socket with 1012 when the gateway stops', async () => {
  const gw = await chatGateway();
  const client = await welcomed(await connectWs(gw.url, { apiKey: API_KEY }));
  await gw.stop();
  assert.equal((await client.closed).code, 1012);
});

test('closes a client that reads too slowly with 4011, and it resumes losing nothing', async () => {
  // A long close grace: the paused client must still find the close frame behind what it did not read.
  const gw = await chatGateway({ OMNIGATE_WS_MAX_BUFFERED_BYTES: '65536', OMNIGATE_WS_CLOSE_GRACE_MS: '60000', OMNIGATE_WS_RATE_PER_SEC: '100000', OMNIGATE_WS_RATE_BURST: '100000' });
  const { visitor, agent, conversationId } = await conversation(gw);
  visitor.ws.pause();
  const text = 'x'.repeat(9_000);
  let lastAcked = 0;
  const slowClosed = () => gw.logs.some((l) => l.code === 'SLOW_CONSUMER');
  let count = 0;
  // In batches sent without waiting for each ack (the socket's frames are still stored in order).
  while (count < 3_000 && !slowClosed()) {
    const ids = Array.from({ length: 50 }, () => randomUUID());
    for (const id of ids) agent.send(say(conversationId, `${count++} ${text}`, id));
    const last = await agent.waitFor('the batch acked', (f) => f.type === 'ack' && f.id === ids.at(-1));
    lastAcked = Number(last.seq);
  }
  assert.ok(slowClosed(), 'the slow client was never closed');
  // The conversation goes on while it is away.
  visitor.ws.resume();
  assert.equal((await visitor.closed).code, 4011);
  for (let i = 0; i < 3; i++) lastAcked = Number((await request(agent, say(conversationId, `${count++} ${text}`))).seq);
  const before = seqs(visitor, conversationId);
  const back = await visitorSocket(gw, visitor.token);
  await request(back, { type: 'subscribe', conversationId, afterSeq: Math.max(0, ...before) });
  await back.waitFor('the last acked message', (f) => f.type === 'event' && (f.event as { seq: number }).seq === lastAcked);
  const all = [...before, ...seqs(back, conversationId)];
  assert.equal(new Set(all).size, all.length, 'a duplicate');
  const messages = [...visitor.events(conversationId), ...back.events(conversationId)].filter((e) => e.type === 'conversation.message_sent' && String(e.data.text).endsWith(text));
  assert.deepEqual(messages.map((e) => Number(String(e.data.text).split(' ')[0])), [...Array(messages.length).keys()]);
  assert.equal(messages.length, count);
  assert.equal(messages.at(-1)?.seq, lastAcked);
});

test("a visitor's new conversations over the socket count against its address's limit, with those over REST; a repeated start does not", async () => {
  const gw = await chatGateway({ OMNIGATE_CONVERSATION_STARTS_PER_IP: '2' });
  const from = loopbackAddress();
  const session = await visitorSession(gw);
  const overRest = await chatFrom(from, gw, session.token, 'POST', '/v1/conversations', {});
  assert.equal(overRest.status, 201);
  const visitor = await welcomed(await connectWs(gw.url, { token: session.token, localAddress: from }));
  const first = await request(visitor, { type: 'conversation.start', id: 'start-1', text: 'hello' });
  assert.equal(first.type, 'ack', JSON.stringify(first));
  const again = await request(visitor, { type: 'conversation.start', id: 'start-1', text: 'hello' });
  assert.deepEqual([again.type, again.duplicate, again.conversationId], ['ack', true, first.conversationId]);
  const refused = await request(visitor, { type: 'conversation.start', id: 'start-2', text: 'hello again' });
  assert.deepEqual([refused.type, refused.code], ['error', 'RATE_LIMITED']);
});
