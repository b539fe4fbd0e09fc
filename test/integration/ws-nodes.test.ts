import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { agentSocket, CHAT_ENV, visitorSocket } from '../support/chat-principals.ts';
import { perTestGateways } from '../support/gateway.ts';
import { gatewayProcesses } from '../support/gateway-process.ts';
import { textMessage } from '../support/ws-client.ts';

// Two nodes on the shared Redis: node A a process of its own (so it can be stopped or killed), node B in this process.
const ENV = { ...CHAT_ENV, OMNIGATE_WS_HEARTBEAT_MS: '300', OMNIGATE_WS_PRESENCE_TTL_MS: '1500' };
const nodes = gatewayProcesses();
const { gateway } = perTestGateways();

test('a visitor on one node and an agent on another talk; a stopping node closes with 1012 and the visitor resumes on the other with no gap or duplicate', async () => {
  const a = await nodes.start({ name: 'ws-a', env: ENV });
  const b = await gateway(ENV);
  const visitor = await visitorSocket(a);
  const started = await visitor.request({ type: 'conversation.start', text: 'hello from A' });
  const conversationId = String(started.conversationId);
  await visitor.request({ type: 'subscribe', conversationId, afterSeq: 0 });
  const agent = await agentSocket(b, `a-${randomUUID()}`);
  await agent.request({ type: 'subscribe', conversationId, afterSeq: 0 });
  assert.equal((await agent.request({ type: 'command', conversationId, command: 'accept' })).type, 'ack');
  const question = await visitor.request(textMessage(conversationId, 'question'));
  await agent.waitFor('the question on B', (f) => f.type === 'event' && (f.event as { seq: number }).seq === question.seq);
  const answer = await agent.request(textMessage(conversationId, 'answer'));
  await visitor.waitFor('the answer on A', (f) => f.type === 'event' && (f.event as { seq: number }).seq === answer.seq);

  const stopping = a.stop();
  assert.equal((await visitor.closed).code, 1012);
  await stopping;
  const lastSeq = Math.max(...visitor.events(conversationId).map((e) => e.seq));
  const meanwhile = await agent.request(textMessage(conversationId, 'while you were away'));
  const back = await visitorSocket(b, visitor.token);
  await back.request({ type: 'subscribe', conversationId, afterSeq: lastSeq });
  const live = await agent.request(textMessage(conversationId, 'live'));
  await back.waitFor('the live message on B', (f) => f.type === 'event' && (f.event as { seq: number }).seq === live.seq);
  const seqs = [...visitor.events(conversationId), ...back.events(conversationId)].map((e) => e.seq);
  assert.equal(new Set(seqs).size, seqs.length, `a duplicate in ${seqs.join(',')}`);
  assert.ok(back.events(conversationId).some((e) => e.seq === meanwhile.seq));
  const texts = [...visitor.events(conversationId), ...back.events(conversationId)].filter((e) => e.type === 'conversation.message_sent').map((e) => e.data.text);
  assert.deepEqual(texts, ['hello from A', 'question', 'answer', 'while you were away', 'live']);
});

test('the agents of a killed node go offline for staff on another node once their presence lease runs out', async () => {
  const a = await nodes.start({ name: 'ws-k', env: ENV });
  const b = await gateway(ENV);
  const agentId = `a-${randomUUID()}`;
  const supervisor = await agentSocket(b, `sup-${randomUUID()}`, 'supervisor');
  const agent = await agentSocket(a, agentId);
  await supervisor.waitFor('the agent online', (f) => f.type === 'presence' && f.agentId === agentId && f.status === 'online');
  await a.kill();
  // Its socket never closed cleanly: only the lease's expiry, seen by node B's sweep, tells.
  await supervisor.waitFor('the agent offline', (f) => f.type === 'presence' && f.agentId === agentId && f.status === 'offline');
  assert.notEqual((await agent.closed).code, 1012);
});
