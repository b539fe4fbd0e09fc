import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TRANSITIONS, type CommandRules } from '../../src/modules/chat/transitions.ts';
import type { ConversationStatus, DeciderCommand } from '../../src/modules/chat/conversation.types.ts';
import { agentToken, chat, chatFrom, CHAT_RUN, chatEnv, openVisitor, type Caller } from '../support/chat-rest.ts';
import { loopbackAddress } from '../support/ports.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

// Conversations over REST against a real gateway on the test Redis (the Redis conversation store,
// BullMQ timers), as a service (API key), agents (JWT) and visitors (widget sessions).
let gw: TestGateway;
let botGw: TestGateway;
const SERVICE: Caller = undefined;
let ada: string;
let bob: string;
const ADA = `ada-${CHAT_RUN}`;
const BOB = `bob-${CHAT_RUN}`;

before(async () => {
  gw = await startTestGateway(chatEnv({ OMNIGATE_CHAT_MAX_OPEN_PER_VISITOR: '50' }));
  botGw = await startTestGateway(chatEnv({ OMNIGATE_CHAT_BOT: 'builtin' }));
  [ada, bob] = await Promise.all([agentToken(ADA), agentToken(BOB)]);
});
after(async () => {
  await gw?.stop();
  await botGw?.stop();
});

const text = (t: string) => ({ contentType: 'text', text: t });
const started = async (g = gw, body: Record<string, unknown> = { group: 'sales' }) => {
  const visitor = await openVisitor(g);
  const res = await chat(g, visitor.token, 'POST', '/v1/conversations', body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { visitor, id: String(res.body.conversationId), res };
};
const cmd = (caller: Caller, id: string, name: string, body?: unknown, g = gw) => chat(g, caller, 'POST', `/v1/conversations/${id}/${name}`, body);
const stateOf = async (id: string, g = gw) => (await chat(g, SERVICE, 'GET', `/v1/conversations/${id}`)).body;

describe('conversations over REST', () => {
  test('every transition: start, accept, snooze, wake, transfer to an agent and to a group, close, reopen, abandon, read', async () => {
    const { visitor, id, res } = await started();
    assert.equal(res.body.conversation.status, 'queued');
    const steps: [Caller, string, unknown, ConversationStatus, string?][] = [
      [ada, 'accept', undefined, 'assigned', ADA],
      [ada, 'snooze', { untilMs: Date.now() + 3_600_000 }, 'pending', ADA],
      [ada, 'wake', undefined, 'assigned', ADA],
      [ada, 'transfer', { to: { agentId: BOB }, reason: 'billing' }, 'assigned', BOB],
      [bob, 'transfer', { to: { group: 'billing' } }, 'queued'],
      [SERVICE, 'accept', { agentId: ADA }, 'assigned', ADA],
      [ada, 'close', undefined, 'closed', ADA],
      [visitor.token, 'reopen', undefined, 'queued'],
      [visitor.token, 'abandon', undefined, 'closed'],
      [visitor.token, 'read', { upToSeq: 3 }, 'closed'],
    ];
    for (const [caller, name, body, status, agentId] of steps) {
      const answer = await cmd(caller, id, name, body);
      assert.equal(answer.status, 200, `${name}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.conversation.status, status, name);
      if (agentId) assert.equal(answer.body.conversation.agentId, agentId, name);
    }
    const final = await stateOf(id);
    assert.deepEqual([final.status, final.closeReason, final.group, final.readUpTo], ['closed', 'abandoned', 'billing', { [`visitor:${visitor.visitorId}`]: 3 }]);
  });

  test('the bot answers and hands over on "转人工"; handover moves it to the queue', async () => {
    const { visitor, id } = await started(botGw, { message: text('hello') });
    assert.equal((await stateOf(id, botGw)).status, 'bot');
    await waitFor('the bot answer', async () => (await chat(botGw, visitor.token, 'GET', `/v1/conversations/${id}/messages`)).body.messages.some((m: any) => m.by.kind === 'bot'));
    await chat(botGw, visitor.token, 'POST', `/v1/conversations/${id}/messages`, { clientId: 'ask', ...text('转人工') });
    await waitFor('the handover', async () => (await stateOf(id, botGw)).status === 'queued');
    const other = await started(botGw);
    assert.equal((await cmd(other.visitor.token, other.id, 'handover', {}, botGw)).body.conversation.status, 'queued');
  });

  test('every refused command is 409 with its code, state and command, and changes nothing', async () => {
    const { id: queued } = await started();
    const { id: assigned } = await started();
    await cmd(ada, assigned, 'accept');
    const { id: pending } = await started();
    await cmd(ada, pending, 'accept');
    await cmd(ada, pending, 'snooze', {});
    const { id: closed } = await started();
    await cmd(SERVICE, closed, 'close');
    const { id: bot } = await started(botGw);
    const at: [ConversationStatus, string, TestGateway][] = [['bot', bot, botGw], ['queued', queued, gw], ['assigned', assigned, gw], ['pending', pending, gw], ['closed', closed, gw]];
    const bodies: Record<string, unknown> = { accept: { agentId: BOB }, transfer: { to: { group: 'x' } }, handover: {}, snooze: {}, wake: {}, close: {}, abandon: {}, reopen: {} };
    let refused = 0;
    for (const [status, id, g] of at) {
      for (const [name, body] of Object.entries(bodies)) {
        // Derived from the table: what a service (acting as the system) may not do in this state.
        const rules = TRANSITIONS[name as DeciderCommand['type']] as CommandRules<DeciderCommand>;
        const code = rules.refuse?.[status] ?? (rules.from[status]?.by.includes('system') ? undefined : 'INVALID_TRANSITION');
        if (code === undefined) continue;
        const before = await stateOf(id, g);
        const answer = await cmd(SERVICE, id, name, body, g);
        assert.deepEqual([answer.status, answer.body.code, answer.body.state, answer.body.command], [409, code, status, name], `${name} in ${status}`);
        assert.deepEqual(await stateOf(id, g), before, `${name} in ${status} changed the conversation`);
        refused += 1;
      }
    }
    assert.ok(refused >= 25, `only ${refused} refusals tried`);
  });

  test('a visitor cannot send staff commands or internal notes (403), nor see another visitor\'s conversation (404)', async () => {
    const { visitor, id } = await started();
    for (const name of ['accept', 'transfer', 'snooze', 'wake', 'close']) {
      const answer = await cmd(visitor.token, id, name, name === 'transfer' ? { to: { group: 'x' } } : {});
      assert.deepEqual([answer.status, answer.body.code], [403, 'FORBIDDEN'], name);
    }
    const note = await chat(gw, visitor.token, 'POST', `/v1/conversations/${id}/messages`, { ...text('psst'), visibility: 'internal' });
    assert.deepEqual([note.status, note.body.code], [403, 'FORBIDDEN']);
    const stranger = await openVisitor(gw);
    for (const path of ['', '/messages', '/events', '/events?untilSeq=1']) {
      assert.deepEqual((await chat(gw, stranger.token, 'GET', `/v1/conversations/${id}${path}`)).status, 404, path);
    }
    assert.equal((await cmd(stranger.token, id, 'abandon')).status, 404);
    assert.equal((await stateOf(id)).status, 'queued');
  });

  test('first claim wins: of two concurrent accepts one assigns, the other is 409 CONVERSATION_ALREADY_ASSIGNED', async () => {
    const { id } = await started();
    const answers = await Promise.all([cmd(ada, id, 'accept'), cmd(bob, id, 'accept')]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409]);
    const lost = answers.find((a) => a.status === 409)!;
    assert.equal(lost.body.code, 'CONVERSATION_ALREADY_ASSIGNED');
    const won = answers.find((a) => a.status === 200)!;
    const state = await stateOf(id);
    assert.deepEqual([state.agentId, state.seq], [won.body.conversation.agentId, 3]);
  });

  test('a message sent twice with the same client id (body or Idempotency-Key) is stored once', async () => {
    const { visitor, id } = await started();
    const path = `/v1/conversations/${id}/messages`;
    const first = await chat(gw, visitor.token, 'POST', path, text('hello'), { 'idempotency-key': 'k-1' });
    const again = await chat(gw, visitor.token, 'POST', path, text('hello'), { 'idempotency-key': 'k-1' });
    assert.deepEqual([first.status, again.status, again.body.seq, again.body.duplicate], [201, 200, first.body.seq, true]);
    const byBody = await chat(gw, visitor.token, 'POST', path, { clientId: 'c-1', ...text('again') });
    assert.deepEqual((await chat(gw, visitor.token, 'POST', path, { clientId: 'c-1', ...text('again') })).body.seq, byBody.body.seq);
    const { messages } = (await chat(gw, visitor.token, 'GET', path)).body;
    assert.deepEqual(messages.map((m: any) => m.data.text), ['hello', 'again']);
    const retried = await chat(gw, visitor.token, 'POST', '/v1/conversations', {}, { 'idempotency-key': 'start-1' });
    assert.equal((await chat(gw, visitor.token, 'POST', '/v1/conversations', {}, { 'idempotency-key': 'start-1' })).body.conversationId, retried.body.conversationId);
  });

  test('?untilSeq= rebuilds the state as it was; a visitor sees no internal note or routing detail in history, /events or a replay', async () => {
    const { visitor, id } = await started();
    await cmd(ada, id, 'accept');
    await chat(gw, ada, 'POST', `/v1/conversations/${id}/messages`, { ...text('VIP: refund approved'), visibility: 'internal' });
    await chat(gw, ada, 'POST', `/v1/conversations/${id}/messages`, text('How can I help?'));
    await cmd(ada, id, 'transfer', { to: { group: 'refunds' }, reason: 'needs a refund' });
    // At seq 1 the conversation is still `new` (created, not yet queued): the answer keeps to the spec.
    const at1 = await assertMatchesSpec(await gw.api(`/v1/conversations/${id}/events?untilSeq=1`), 'listConversationEvents');
    assert.equal(at1.state.status, 'new');
    const at2 = await chat(gw, SERVICE, 'GET', `/v1/conversations/${id}/events?untilSeq=2`);
    assert.deepEqual([at2.body.state.status, at2.body.state.seq, at2.body.events.length], ['queued', 2, 2]);
    assert.equal((await chat(gw, ada, 'GET', `/v1/conversations/${id}/events?untilSeq=3`)).body.state.agentId, ADA);
    const staff = (await chat(gw, SERVICE, 'GET', `/v1/conversations/${id}/events`)).body;
    assert.equal(staff.events.length, 7);
    const secrets = /VIP|refund|sales/;
    const seen = [
      (await chat(gw, visitor.token, 'GET', `/v1/conversations/${id}/messages`)).body,
      (await chat(gw, visitor.token, 'GET', `/v1/conversations/${id}/events`)).body,
      (await chat(gw, visitor.token, 'GET', `/v1/conversations/${id}/events?untilSeq=7`)).body,
      (await chat(gw, visitor.token, 'GET', `/v1/conversations/${id}`)).body,
    ];
    for (const answer of seen) assert.doesNotMatch(JSON.stringify(answer), secrets);
    assert.deepEqual(seen[1]!.events.map((e: any) => e.type), ['conversation.created', 'conversation.assigned', 'conversation.message_sent']);
    assert.equal(seen[1]!.lastSeq, 7);
    const paged = (await chat(gw, SERVICE, 'GET', `/v1/conversations/${id}/events?afterSeq=2&limit=2`)).body;
    assert.deepEqual([paged.events.map((e: any) => e.seq), paged.lastSeq, paged.hasMore], [[3, 4], 4, true]);
  });

  test('a staff-started conversation\'s visitor customer id must be a CustomerId: a bad one is 400 and stores nothing; a good one reaches the sidebar', async () => {
    const visitor = { id: `v-staff-${CHAT_RUN}`, site: 'shop' };
    const group = `g-staff-${CHAT_RUN}`;
    for (const customerId of ['\u0096\r', '.hidden', 'a/b', 'x'.repeat(129)]) {
      const refused = await chat(gw, SERVICE, 'POST', '/v1/conversations', { group, visitor: { ...visitor, customerId } });
      assert.deepEqual([refused.status, refused.body.code], [400, 'VALIDATION_FAILED'], JSON.stringify(customerId));
      assert.match(String(refused.body.field ?? refused.body.detail), /customerId/);
    }
    const listed = (await chat(gw, SERVICE, 'GET', `/v1/conversations?group=${group}`)).body;
    assert.deepEqual(listed.items, [], 'nothing stored for the refused starts');
    assert.equal((await chat(gw, SERVICE, 'GET', '/v1/conversations?customerId=%0D')).status, 400, 'the list filter is a CustomerId too');

    const accepted = await chat(gw, SERVICE, 'POST', '/v1/conversations', { group, visitor: { ...visitor, customerId: 'crm:42' } });
    assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
    const context = await chat(gw, SERVICE, 'GET', `/v1/conversations/${accepted.body.conversationId}/context`);
    assert.equal(context.body.customerId, 'crm:42');
  });

  test('lists filter by state, agent, group and visitor, paged by cursor', async () => {
    const { visitor, id } = await started(gw, { group: `g-${CHAT_RUN}` });
    const { id: second } = await started(gw, { group: `g-${CHAT_RUN}` });
    await cmd(ada, second, 'accept');
    const byGroup = (await chat(gw, SERVICE, 'GET', `/v1/conversations?group=g-${CHAT_RUN}&limit=1`)).body;
    assert.equal(byGroup.items.length, 1);
    const rest = (await chat(gw, SERVICE, 'GET', `/v1/conversations?group=g-${CHAT_RUN}&cursor=${byGroup.next}`)).body;
    assert.deepEqual([...byGroup.items, ...rest.items].map((c: any) => c.id).sort(), [id, second].sort());
    const queuedInGroup = (await chat(gw, ada, 'GET', `/v1/conversations?group=g-${CHAT_RUN}&state=queued`)).body.items.map((c: any) => c.id);
    assert.deepEqual(queuedInGroup, [id]);
    assert.ok((await chat(gw, ada, 'GET', `/v1/conversations?agentId=${ADA}&state=assigned`)).body.items.some((c: any) => c.id === second));
    const own = (await chat(gw, visitor.token, 'GET', '/v1/conversations')).body.items;
    assert.deepEqual(own.map((c: any) => [c.id, c.group]), [[id, undefined]]);
    assert.equal((await chat(gw, SERVICE, 'GET', '/v1/conversations?state=nope')).status, 400);
  });

  test('dispatch over REST: start with topic and page; decline without an open offer is 409 OFFER_EXPIRED; a left message is validated first; an agent transfers only its own conversation, a supervisor any', async () => {
    const { visitor, id } = await started(gw, { group: 'sales', topic: 'returns', page: 'https://shop.example/orders/42' });
    const staffView = await stateOf(id);
    assert.deepEqual([staffView.topic, staffView.page], ['returns', 'https://shop.example/orders/42']);
    const created = (await assertMatchesSpec(await gw.api(`/v1/conversations/${id}/events`), 'listConversationEvents')).events[0];
    assert.deepEqual([created.data.topic, created.data.page], ['returns', 'https://shop.example/orders/42']);

    const declined = await chat(gw, ada, 'POST', `/v1/conversations/${id}/decline`, { offerId: 'never-offered' });
    assert.deepEqual([declined.status, declined.body.code], [409, 'OFFER_EXPIRED']);
    assert.equal((await cmd(ada, id, 'decline', {})).status, 400, 'offerId is required');
    assert.deepEqual((await cmd(visitor.token, id, 'decline', { offerId: 'x' })).body.code, 'FORBIDDEN');

    const anonymous = await cmd(visitor.token, id, 'leave-message', { text: 'please call me back' });
    assert.deepEqual([anonymous.status, anonymous.body.code, anonymous.body.field], [400, 'VALIDATION_FAILED', 'email']);
    assert.equal((await cmd(visitor.token, id, 'leave-message', { text: '' })).status, 400);
    assert.deepEqual((await cmd(ada, id, 'leave-message', { text: 'x', email: 'v@example.com' })).body.code, 'FORBIDDEN');

    assert.deepEqual((await cmd(bob, id, 'transfer', { to: { group: 'billing' } })).body.code, 'FORBIDDEN', 'not assigned to bob');
    assert.equal((await cmd(ada, id, 'accept', {})).status, 200);
    assert.deepEqual((await cmd(bob, id, 'transfer', { to: { agentId: BOB } })).body.code, 'FORBIDDEN', 'assigned to ada');
    const boss = await agentToken(`boss-${CHAT_RUN}`, 'supervisor');
    assert.equal((await cmd(boss, id, 'transfer', { to: { agentId: BOB } })).status, 200);
    assert.equal((await stateOf(id)).agentId, BOB);
    assert.equal((await stateOf(id)).status, 'assigned');
    assert.deepEqual((await cmd(visitor.token, id, 'leave-message', { text: 'too late', email: 'v@example.com' })).body.code, 'INVALID_TRANSITION', 'an agent has it');
  });
});

describe('new conversations are rate limited per address and per site', () => {
  let limited: TestGateway;
  before(async () => {
    limited = await startTestGateway(chatEnv({ OMNIGATE_CONVERSATION_STARTS_PER_IP: '2' }));
  });
  after(async () => limited?.stop());

  test('a visitor starting more than the limit from one address gets 429 per-ip; a repeated start is not counted and nothing more is stored', async () => {
    const visitor = await openVisitor(limited);
    const from = loopbackAddress();
    const startOnce = (clientId: string) => chatFrom(from, limited, visitor.token, 'POST', '/v1/conversations', { clientId });
    assert.equal((await startOnce('s-1')).status, 201);
    assert.equal((await startOnce('s-2')).status, 201);
    assert.equal((await startOnce('s-1')).status, 200, 'a repeat answers the conversation it made');
    const refused = await startOnce('s-3');
    assert.deepEqual([refused.status, refused.body.code, refused.body.scope], [429, 'RATE_LIMITED', 'per-ip']);
    assert.equal((await chatFrom(loopbackAddress(), limited, visitor.token, 'POST', '/v1/conversations', { clientId: 's-3' })).status, 201, 'another address is not limited by the first one');
    const own = (await chat(limited, visitor.token, 'GET', '/v1/conversations')).body.items;
    assert.equal(own.length, 3);
  });
});
