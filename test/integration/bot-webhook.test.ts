// The webhook bot (OMNIGATE_CHAT_BOT=webhook) against a real HTTP server in this test, the external
// bot service: it checks each request's signature (Standard Webhooks, as the gateway's outbound
// webhooks) and answers a BotReply. Visitors talk over the real WebSocket to real gateways on the
// test Redis. A slow, failing or misconfigured service hands the visitor over to a person; a
// message's bot job outlives the node that took it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { verifyWebhook } from '../../src/modules/webhooks/signature.ts';
import { CHAT_ENV, visitorSocket } from '../support/chat-principals.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TEST_REDIS_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';
import type { WsTestClient } from '../support/ws-client.ts';

const SECRET = 'bot-webhook-secret-0123456789abcdef';
const TIMEOUT_MS = 500;

/** One request as the bot service received it, and whether its signature held with the service's secret. */
interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: any;
  readonly isSigned: boolean;
  readonly res: ServerResponse;
}

/** The external bot service: what it does with each request is the test's (`answer`); a request whose signature fails is 401. */
let service: Server;
let serviceUrl = '';
let serviceSecret = SECRET;
let answer: (request: Received) => void = (r) => reply(r.res, 200, { kind: 'nothing' });
const received: Received[] = [];
const reply = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

before(async () => {
  service = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const [id, timestamp, signature] = [req.headers['webhook-id'], req.headers['webhook-timestamp'], req.headers['webhook-signature']].map(String);
      const isSigned = verifyWebhook(serviceSecret, id!, Number(timestamp), raw, signature!);
      const request: Received = { headers: req.headers, body: JSON.parse(raw), isSigned, res };
      received.push(request);
      if (!isSigned) return reply(res, 401, { error: 'bad signature' });
      answer(request);
    });
  });
  service.listen(0, '127.0.0.1');
  await once(service, 'listening');
  serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}/bot`;
});
after(() => {
  service.closeAllConnections();
  service.close();
});

const botEnv = (over: Record<string, string> = {}) => ({
  ...CHAT_ENV, OMNIGATE_CHAT_BOT: 'webhook', OMNIGATE_BOT_WEBHOOK_URL: serviceUrl, OMNIGATE_BOT_WEBHOOK_SECRET: SECRET, OMNIGATE_BOT_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
  // Nobody answers here: the chat's own timers must not move the conversations meanwhile.
  OMNIGATE_CHAT_AGENT_ANSWER_MS: '3600000', OMNIGATE_CHAT_VISITOR_IDLE_MS: '3600000', ...over,
});

/**
 * The Redis of the nodes in the test of a job outliving its node: the test Redis, in a database
 * no other test uses. BullMQ runs one stalled-job check per queue at a time: the worker that runs
 * it sets `<queue>:stalled-check` for its own stalledInterval, and every other worker skips its
 * checks until that expires. A gateway of an earlier test (or file) with the default 30 s job lock
 * would so hold off the check that takes up the stopped node's job for up to 30 s.
 */
const TAKEOVER_REDIS_URL = `${TEST_REDIS_URL}/7`;

/** A visitor's socket in a new conversation with the bot, following it. */
async function talk(gw: TestGateway, token?: string): Promise<{ visitor: WsTestClient & { token: string }; conversationId: string }> {
  const visitor = await visitorSocket(gw, token);
  const started = await visitor.request({ type: 'conversation.start', language: 'en' });
  assert.equal(started.type, 'ack', JSON.stringify(started));
  const conversationId = String(started.conversationId);
  assert.equal((await visitor.request({ type: 'subscribe', conversationId, afterSeq: 0 })).type, 'subscribed');
  return { visitor, conversationId };
}

const say = async (visitor: WsTestClient, conversationId: string, text: string) => {
  const ack = await visitor.request({ type: 'message.send', conversationId, contentType: 'text', text });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  return Number(ack.seq);
};
const botMessages = (visitor: WsTestClient, conversationId: string) =>
  visitor.events(conversationId).filter((e) => e.type === 'conversation.message_sent' && (e.data.author as { kind: string }).kind === 'bot');
const staffEvents = async (gw: TestGateway, id: string) => ((await (await gw.api(`/v1/conversations/${id}/events`)).json()) as { events: any[] }).events;
const requestsFor = (conversationId: string) => received.filter((r) => r.body.conversation?.id === conversationId);

describe('the webhook bot', () => {
  // One gateway for the tests of what the service answers: each talks in a conversation of its
  // own, and says what the service does before it starts.
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(botEnv());
  });
  after(() => gw?.stop());

  test('the service\'s answer is appended as the bot\'s public message, over the WebSocket; each request is signed and carries the conversation, the message and the earlier ones', async () => {
    serviceSecret = SECRET;
    answer = (r) => reply(r.res, 200, { kind: r.body.earlier.length === 0 ? 'ask' : 'answer', messages: [{ contentType: 'text', text: `you said: ${r.body.message.text}` }] });
    const { visitor, conversationId } = await talk(gw);
    await say(visitor, conversationId, 'where is my order?');
    await waitFor('the bot\'s first answer', () => botMessages(visitor, conversationId).length === 1);
    await say(visitor, conversationId, 'ORD-0001234');
    await waitFor('the bot\'s second answer', () => botMessages(visitor, conversationId).length === 2);
    assert.deepEqual(botMessages(visitor, conversationId).map((e) => [e.visibility, e.data.text, e.data.author]), [
      ['public', 'you said: where is my order?', { kind: 'bot', id: 'webhook' }],
      ['public', 'you said: ORD-0001234', { kind: 'bot', id: 'webhook' }],
    ]);
    const [first, second] = requestsFor(conversationId);
    assert.ok(first?.isSigned && second?.isSigned, 'signed with the shared secret');
    assert.equal(first.headers['webhook-id'], `bot-${first.body.message.messageId}`);
    assert.deepEqual([first.body.type, first.body.conversation.status, first.body.conversation.language, first.body.message.text], ['bot.message', 'bot', 'en', 'where is my order?']);
    assert.match(first.body.traceId, /^[0-9a-f]{32}$/);
    assert.deepEqual(second.body.earlier.map((m: any) => [m.author.kind, m.text]), [['visitor', 'where is my order?'], ['bot', 'you said: where is my order?']]);
    assert.equal((await staffEvents(gw, conversationId)).at(-1).type, 'conversation.message_sent', 'still with the bot');
    await visitor.close();
  });

  test('the bot\'s answer continues the trace of the visitor\'s message: the request the service gets names it', async () => {
    serviceSecret = SECRET;
    answer = (r) => reply(r.res, 200, { kind: 'answer', messages: [{ contentType: 'text', text: 'traced' }] });
    const { visitor, conversationId } = await talk(gw);
    const sent = await gw.api(`/v1/conversations/${conversationId}/messages`, {
      method: 'POST', headers: { authorization: `Bearer ${visitor.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ clientId: 'traced-1', contentType: 'text', text: 'hi' }),
    });
    assert.equal(sent.status, 201, await sent.clone().text());
    const traceId = /^00-([0-9a-f]{32})-/.exec(sent.headers.get('traceparent') ?? '')?.[1];
    assert.ok(traceId, 'the send answers its traceparent');
    const request = await waitFor('the service asked', () => requestsFor(conversationId)[0]);
    assert.equal(request.body.traceId, traceId);
    await visitor.close();
  });

  test('a service slower than OMNIGATE_BOT_WEBHOOK_TIMEOUT_MS: the visitor is told and handed over (bot_failed), and the conversation lands queued', async () => {
    serviceSecret = SECRET;
    const held: ServerResponse[] = [];
    answer = (r) => void held.push(r.res);
    const { visitor, conversationId } = await talk(gw);
    await say(visitor, conversationId, 'hello?');
    const queued = await waitFor('the handover', async () => (await staffEvents(gw, conversationId)).find((e) => e.type === 'conversation.queued'));
    assert.deepEqual([queued.by, queued.data.reason, queued.data.findings.reason], [{ kind: 'bot', id: 'webhook' }, 'handover', 'bot_failed']);
    assert.match(queued.data.findings.summary, new RegExp(`did not answer within ${TIMEOUT_MS} ms`));
    const state = (await (await gw.api(`/v1/conversations/${conversationId}`)).json()) as { status: string; botFindings: { reason: string } };
    assert.deepEqual([state.status, state.botFindings.reason], ['queued', 'bot_failed']);
    await waitFor('the visitor told', () => botMessages(visitor, conversationId).length === 1);
    assert.match(String(botMessages(visitor, conversationId)[0]!.data.text), /passing you to a person/);
    for (const res of held) reply(res, 200, { kind: 'nothing' });
    await visitor.close();
  });

  test('a service that has another secret refuses the signature (401): the gateway hands over and says why, never logging the secret', async () => {
    serviceSecret = 'another-secret-0123456789abcdef';
    answer = (r) => reply(r.res, 200, { kind: 'answer', messages: [{ contentType: 'text', text: 'never sent' }] });
    const { visitor, conversationId } = await talk(gw);
    await say(visitor, conversationId, 'hi');
    const queued = await waitFor('the handover', async () => (await staffEvents(gw, conversationId)).find((e) => e.type === 'conversation.queued'));
    assert.equal(requestsFor(conversationId)[0]?.isSigned, false, 'the service could not verify it');
    assert.deepEqual([queued.data.findings.reason, queued.data.findings.summary], ['bot_failed', 'the bot failed: the bot service answered 401']);
    const warned = gw.logs.find((l) => l.msg === 'the bot service failed: handing over' && l.conversationId === conversationId);
    assert.equal(warned?.reason, 'the bot service answered 401');
    assert.ok(!JSON.stringify(gw.logs).includes(SECRET), 'the secret is never logged');
    await visitor.close();
  });

  test('an answer that is not a BotReply hands over too, naming what is wrong', async () => {
    serviceSecret = SECRET;
    answer = (r) => reply(r.res, 200, { kind: 'answer', messages: [] });
    const { visitor, conversationId } = await talk(gw);
    await say(visitor, conversationId, 'hi');
    const queued = await waitFor('the handover', async () => (await staffEvents(gw, conversationId)).find((e) => e.type === 'conversation.queued'));
    assert.match(queued.data.findings.summary, /^the bot failed: the bot service's answer is not a BotReply/);
    await visitor.close();
  });

  test('an acknowledged message is answered exactly once though the node that took its job stops before the service answers', async () => {
    serviceSecret = SECRET;
    const held: Received[] = [];
    // The first request is held (its node stops meanwhile); any later one is answered.
    answer = (r) => (held.length === 0 ? void held.push(r) : reply(r.res, 200, { kind: 'answer', messages: [{ contentType: 'text', text: 'answered by the node that took over' }] }));
    // Short job and bot locks, so the stopped node's job is taken up soon; no grace for its running job.
    const node = () => startTestGateway(botEnv({ REDIS_URL: TAKEOVER_REDIS_URL, OMNIGATE_JOB_LOCK_MS: '1000', OMNIGATE_BOT_LOCK_MS: '1000', OMNIGATE_SHUTDOWN_GRACE_MS: '0', OMNIGATE_BOT_WEBHOOK_TIMEOUT_MS: '60000' }));
    const a = await node();
    let b: TestGateway | undefined;
    try {
      const { visitor, conversationId } = await talk(a);
      const seq = await say(visitor, conversationId, 'where is my order?');
      await waitFor('the service to get the message from node a', () => held.length === 1);
      // Node b starts while node a stops: a's job is locked until a second after a stopped.
      [b] = await Promise.all([node(), a.stop()]);
      const again = await visitorSocket(b, visitor.token);
      assert.equal((await again.request({ type: 'subscribe', conversationId, afterSeq: 0 })).type, 'subscribed');
      await waitFor('the answer from node b', () => botMessages(again, conversationId).length === 1);
      // Node a's cut-off attempt gets its answer now, too late: its store is closed, nothing more is appended.
      reply(held[0]!.res, 200, { kind: 'answer', messages: [{ contentType: 'text', text: 'answered by the stopped node' }] });
      const jobId = `bot_${conversationId}_${seq}`;
      await waitFor('node a\'s attempt to end', () => a.logs.some((l) => l.jobId === jobId && /^job (attempt failed|dead-lettered|completed)/.test(String(l.msg))));
      const answers = (await staffEvents(b, conversationId)).filter((e) => e.type === 'conversation.message_sent' && e.by.kind === 'bot');
      assert.deepEqual(answers.map((e) => e.data.text), ['answered by the node that took over']);
      assert.equal(requestsFor(conversationId).length, 2, 'asked once by each node');
      await again.close();
    } finally {
      await Promise.all([a.stop(), b?.stop()]);
    }
  });

  test('a message whose job stalls twice (its node stops mid-answer, then the next one does too) is not run a third time: the visitor is told and handed over, and the job is dead', async () => {
    serviceSecret = SECRET;
    const held: Received[] = [];
    // Every request is held: the service never answers, each node stops while it waits.
    answer = (r) => void held.push(r);
    const node = () => startTestGateway(botEnv({ REDIS_URL: TAKEOVER_REDIS_URL, OMNIGATE_JOB_LOCK_MS: '1000', OMNIGATE_BOT_LOCK_MS: '1000', OMNIGATE_SHUTDOWN_GRACE_MS: '0', OMNIGATE_BOT_WEBHOOK_TIMEOUT_MS: '60000' }));
    const a = await node();
    let b: TestGateway | undefined;
    let c: TestGateway | undefined;
    try {
      const { visitor, conversationId } = await talk(a);
      const seq = await say(visitor, conversationId, 'my order never came');
      const jobId = `bot_${conversationId}_${seq}`;
      await waitFor('the service to get the message from node a', () => requestsFor(conversationId).length === 1);
      [b] = await Promise.all([node(), a.stop()]);
      await waitFor('the service to get the message again, from node b', () => requestsFor(conversationId).length === 2);
      [c] = await Promise.all([node(), b.stop()]);
      const again = await visitorSocket(c, visitor.token);
      assert.equal((await again.request({ type: 'subscribe', conversationId, afterSeq: 0 })).type, 'subscribed');
      const queued = await waitFor('the handover on node c', async () => (await staffEvents(c!, conversationId)).find((e) => e.type === 'conversation.queued'));
      assert.deepEqual([queued.by, queued.data.reason, queued.data.findings.reason], [{ kind: 'bot', id: 'webhook' }, 'handover', 'bot_failed']);
      await waitFor('the visitor to be told', () => botMessages(again, conversationId).length === 1);
      assert.equal(botMessages(again, conversationId)[0]!.data.text, 'Sorry, I cannot answer that right now. I am passing you to a person.');
      assert.match(queued.data.findings.summary, new RegExp(`its job for message ${seq} stopped 2 times`));
      await waitFor('the job dead-lettered on node c', () => c!.logs.some((l) => l.jobId === jobId && l.msg === 'job stalled out: dead-lettered'));
      assert.equal(requestsFor(conversationId).length, 2, 'node c did not ask the service a third time');
      await again.close();
    } finally {
      await Promise.all([a.stop(), b?.stop(), c?.stop()]);
      for (const r of held) reply(r.res, 200, { kind: 'nothing' });
    }
  });
});
