import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { agentToken, chat, CHAT_ADMIN_KEY, CHAT_RUN, chatEnv, openVisitor, type Caller } from '../support/chat-rest.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait.ts';

// The conversation timers are BullMQ delayed jobs on the test Redis: short ones here fire, long
// ones on the other gateway are watched being set and cancelled through the admin jobs API.
let fast: TestGateway;
let slow: TestGateway;
let ada: string;
const SERVICE: Caller = undefined;

before(async () => {
  fast = await startTestGateway(chatEnv({ OMNIGATE_CHAT_VISITOR_IDLE_MS: '400', OMNIGATE_CHAT_AGENT_ANSWER_MS: '400' }));
  slow = await startTestGateway(chatEnv());
  ada = await agentToken(`ada-${CHAT_RUN}`);
});
after(async () => {
  await fast?.stop();
  await slow?.stop();
});

const start = async (gw: TestGateway) => {
  const visitor = await openVisitor(gw);
  const res = await chat(gw, visitor.token, 'POST', '/v1/conversations', {});
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return String(res.body.conversationId);
};
const cmd = (gw: TestGateway, caller: Caller, id: string, name: string, body?: unknown) => chat(gw, caller, 'POST', `/v1/conversations/${id}/${name}`, body);
const events = async (gw: TestGateway, id: string): Promise<any[]> => (await chat(gw, SERVICE, 'GET', `/v1/conversations/${id}/events`)).body.events;
const eventually = (what: string, gw: TestGateway, id: string, match: (e: any) => boolean) =>
  waitFor(what, async () => (await events(gw, id)).find(match), { timeoutMs: 15_000 });
/** The ids of this conversation's timers waiting to fire. */
const timersOf = async (id: string): Promise<string[]> => {
  const res = await slow.api('/v1/admin/jobs?state=delayed&queue=conversation-timers&limit=1000', { headers: { 'x-api-key': CHAT_ADMIN_KEY } });
  assert.equal(res.status, 200);
  const { jobs } = (await res.json()) as { jobs: { id: string }[] };
  return jobs.map((j) => j.id).filter((j) => j.startsWith(`ct_${id}_`)).sort();
};

describe('conversation timers', () => {
  test('a visitor who waits in silence abandons: closed as abandoned by the system', async () => {
    const id = await start(fast);
    const closed = await eventually('the abandon', fast, id, (e) => e.type === 'conversation.closed');
    assert.deepEqual([closed.data.reason, closed.by.kind], ['abandoned', 'system']);
  });

  test('an agent who does not answer loses the conversation back to the queue', async () => {
    const id = await start(fast);
    assert.equal((await cmd(fast, ada, id, 'accept')).status, 200);
    const requeued = await eventually('the requeue', fast, id, (e) => e.type === 'conversation.queued' && e.data.reason === 'agent_timeout');
    assert.deepEqual([requeued.by.kind, requeued.seq], ['system', 4]);
  });

  test('once the agent has answered, the answer timer does nothing and the silent visitor is closed as idle', async () => {
    const id = await start(fast);
    await cmd(fast, ada, id, 'accept');
    await chat(fast, ada, 'POST', `/v1/conversations/${id}/messages`, { contentType: 'text', text: 'Hello, how can I help?' });
    const closed = await eventually('the idle close', fast, id, (e) => e.type === 'conversation.closed');
    assert.equal(closed.data.reason, 'idle');
    assert.ok(!(await events(fast, id)).some((e) => e.type === 'conversation.queued' && e.data.reason === 'agent_timeout'));
  });

  test('a snooze with an end wakes the conversation when it runs out', async () => {
    const id = await start(fast);
    await cmd(fast, ada, id, 'accept');
    await cmd(fast, ada, id, 'snooze', { untilMs: Date.now() + 200 });
    const woke = await eventually('the wake', fast, id, (e) => e.type === 'conversation.woke');
    assert.deepEqual([woke.data.reason, woke.by.kind], ['snooze_ended', 'system']);
  });

  test('each move cancels the timer it makes needless and sets the one it calls for; a message only moves it on', async () => {
    const visitor = await openVisitor(slow);
    const started = await chat(slow, visitor.token, 'POST', '/v1/conversations', {});
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = String(started.body.conversationId);
    assert.deepEqual(await timersOf(id), [`ct_${id}_visitor_idle_2`]);
    await cmd(slow, ada, id, 'accept');
    assert.deepEqual(await timersOf(id), [`ct_${id}_agent_answer_3`]);
    await cmd(slow, ada, id, 'snooze', { untilMs: Date.now() + 3_600_000 });
    assert.deepEqual(await timersOf(id), [`ct_${id}_snooze_end_4`]);
    await cmd(slow, ada, id, 'wake');
    assert.deepEqual(await timersOf(id), [`ct_${id}_agent_answer_5`]);
    const sent = await chat(slow, visitor.token, 'POST', `/v1/conversations/${id}/messages`, { clientId: 'still', contentType: 'text', text: 'still there?' });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.deepEqual(await timersOf(id), [`ct_${id}_agent_answer_5`], 'the timer set stays: it sets itself again when it fires');
    await cmd(slow, ada, id, 'close');
    assert.deepEqual(await timersOf(id), []);
  });
});
