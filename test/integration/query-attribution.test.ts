import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { agentToken, chat, CHAT_RUN, chatEnv, openVisitor, type Caller } from '../support/chat-rest.ts';
import { API_KEY, backendAdmin, startTestGateway, type TestGateway } from '../support/gateway.ts';
import type { TEST_URLS } from '../support/ports.ts';
import { assertMatchesSpec } from '../support/spec.ts';

// X-Conversation-Id on the query API, over a real gateway, the test Redis and the real backends:
// a conversation assigned to Ada (an agent) may be named by Ada and by supervisors; anyone else is
// refused before any backend is called, so lineage cannot be forged.
let gw: TestGateway;
const SERVICE: Caller = undefined;
const ADA = `ada-${CHAT_RUN}`;
const BOB = `bob-${CHAT_RUN}`;
const SUE = `sue-${CHAT_RUN}`;
let ada: string;
let bob: string;
let sue: string;
let conversationId: string;

before(async () => {
  gw = await startTestGateway(chatEnv());
  [ada, bob, sue] = await Promise.all([agentToken(ADA), agentToken(BOB), agentToken(SUE, 'supervisor')]);
  conversationId = await assignedTo(ada);
});
after(() => gw?.stop());

/** A visitor's new conversation, accepted by the agent holding `token`. */
async function assignedTo(token: string): Promise<string> {
  const visitor = await openVisitor(gw);
  const started = await chat(gw, visitor.token, 'POST', '/v1/conversations', { group: 'sales' });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = String(started.body.conversationId);
  const accepted = await chat(gw, token, 'POST', `/v1/conversations/${id}/accept`);
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  return id;
}

interface Sent {
  readonly res: Response;
  /** The trace the request ran under: a backend it reached logged it. */
  readonly traceId: string;
}

/** One call of the query API as `caller` (an API key when undefined), under a fresh trace. */
async function send(caller: Caller, path: string, options: { conversation?: string; body?: unknown } = {}): Promise<Sent> {
  const traceId = randomBytes(16).toString('hex');
  const headers: Record<string, string> = {
    traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
    ...(caller === undefined ? { 'x-api-key': API_KEY } : { authorization: `Bearer ${caller}` }),
    ...(options.conversation === undefined ? {} : { 'x-conversation-id': options.conversation }),
    ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
  };
  const res = await fetch(`${gw.url}${path}`, { method: options.body === undefined ? 'GET' : 'POST', headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  return { res, traceId };
}

const orderGet = { capability: 'order.get', params: { id: 'ORD-0000001' } };

type System = keyof typeof TEST_URLS;
const tracesSeenBy = async (system: System): Promise<Set<string | undefined>> =>
  new Set((await backendAdmin<{ traceparent: string | null }[]>(system, 'requests')).map((r) => r.traceparent?.split('-')[1]));

/**
 * Asserts that none of the refused requests reached `system`: a request that passes is sent after
 * them and must be in the backend's log of recent requests, and theirs must not.
 */
async function assertNeverReached(system: System, refused: readonly Sent[]): Promise<void> {
  const sentinel = await send(SERVICE, system === 'orders' ? '/v1/orders/ORD-0000002' : system === 'tickets' ? '/v1/tickets/TCK-100002' : '/v1/customers/43');
  assert.equal(sentinel.res.status, 200);
  const seen = await tracesSeenBy(system);
  assert.ok(seen.has(sentinel.traceId), `the ${system} backend did not log the request sent after the refused ones`);
  for (const { traceId } of refused) assert.ok(!seen.has(traceId), `a refused request (trace ${traceId}) reached ${system}`);
}

async function assertRefused(sent: Sent, status: number, code: string, operationId: string): Promise<Record<string, unknown>> {
  assert.equal(sent.res.status, status);
  assert.equal(sent.res.headers.get('content-type')?.split(';')[0], 'application/problem+json');
  const body = await assertMatchesSpec(sent.res, operationId);
  assert.equal(body.code, code, JSON.stringify(body));
  return body;
}

describe('X-Conversation-Id on the query API', () => {
  test("the assigned agent's look-ups pass, reach the backend and are attributed to the conversation", async () => {
    const order = await send(ada, '/v1/orders/ORD-0000001', { conversation: conversationId });
    assert.equal(order.res.status, 200);
    assert.equal((await assertMatchesSpec(order.res, 'getOrder')).data.id, 'ORD-0000001');
    const query = await send(ada, '/v1/query', { conversation: conversationId, body: orderGet });
    assert.equal((await assertMatchesSpec(query.res, 'query')).data.id, 'ORD-0000001');
    const context = await send(ada, '/v1/customers/42/context', { conversation: conversationId });
    assert.equal((await assertMatchesSpec(context.res, 'getCustomerContext')).complete, true);

    const seen = await tracesSeenBy('orders');
    for (const sent of [order, query, context]) assert.ok(seen.has(sent.traceId), 'the orders backend was called');
    for (const system of ['crm', 'tickets'] as const) assert.ok((await tracesSeenBy(system)).has(context.traceId), `the context read reached ${system}`);
    const attributed = gw.logs.filter((l) => l.msg === 'read attributed to a conversation' && l.conversationId === conversationId);
    assert.deepEqual(new Set(attributed.map((l) => l.traceId)), new Set([order.traceId, query.traceId, context.traceId]));
    for (const line of attributed) assert.deepEqual(line.actor, { kind: 'agent', id: ADA });
  });

  test('another agent, an API key and an unknown conversation are refused 403 NOT_A_PARTICIPANT, and no backend is called', async () => {
    const refused: Sent[] = [];
    const cases: [string, Caller, string, string][] = [
      ['another agent', bob, conversationId, 'not assigned'],
      ['an API key', SERVICE, conversationId, 'API key acts for no conversation'],
      ['an unknown conversation', ada, randomUUID(), 'no conversation'],
    ];
    for (const [who, caller, conversation, detail] of cases) {
      const sent = await send(caller, '/v1/orders/ORD-0000001', { conversation });
      const body = await assertRefused(sent, 403, 'NOT_A_PARTICIPANT', 'getOrder');
      assert.match(String(body.detail), new RegExp(detail), who);
      const viaQuery = await send(caller, '/v1/query', { conversation, body: orderGet });
      await assertRefused(viaQuery, 403, 'NOT_A_PARTICIPANT', 'query');
      refused.push(sent, viaQuery);
    }
    await assertNeverReached('orders', refused);
    assert.equal(gw.logs.filter((l) => l.msg === 'read attributed to a conversation' && refused.some((r) => r.traceId === l.traceId)).length, 0);
  });

  test('an agent without X-Conversation-Id is refused 403 FORBIDDEN; a malformed id is 400 VALIDATION_FAILED; neither calls anything', async () => {
    const bare = await send(ada, '/v1/customers/42');
    const body = await assertRefused(bare, 403, 'FORBIDDEN', 'getCustomer');
    assert.match(String(body.detail), /X-Conversation-Id/);
    const bareQuery = await send(ada, '/v1/query', { body: { capability: 'customer.get', params: { id: '42' } } });
    await assertRefused(bareQuery, 403, 'FORBIDDEN', 'query');
    const malformed = await send(ada, '/v1/customers/42', { conversation: 'not a conversation id!' });
    const problem = await assertRefused(malformed, 400, 'VALIDATION_FAILED', 'getCustomer');
    assert.equal((problem.errors as { in: string }[])[0]?.in, 'header');
    await assertNeverReached('crm', [bare, bareQuery, malformed]);
  });

  test('a supervisor reads with or without the header; an API key without it', async () => {
    const named = await send(sue, '/v1/tickets/TCK-100001', { conversation: conversationId });
    assert.equal((await assertMatchesSpec(named.res, 'getTicket')).data.id, 'TCK-100001');
    const attributed = gw.logs.find((l) => l.msg === 'read attributed to a conversation' && l.traceId === named.traceId);
    assert.deepEqual(attributed?.actor, { kind: 'agent', id: SUE });
    const plain = await send(sue, '/v1/customers/42/orders');
    assert.equal((await assertMatchesSpec(plain.res, 'listCustomerOrders')).capability, 'order.list');
    const service = await send(SERVICE, '/v1/query', { body: orderGet });
    assert.equal((await assertMatchesSpec(service.res, 'query')).data.id, 'ORD-0000001');
    assert.equal(gw.logs.filter((l) => l.msg === 'read attributed to a conversation' && (l.traceId === plain.traceId || l.traceId === service.traceId)).length, 0);
  });

  test('the agent it is assigned to now: after a transfer the new agent passes and the one before is refused', async () => {
    const id = await assignedTo(ada);
    assert.equal((await send(ada, '/v1/orders/ORD-0000001', { conversation: id })).res.status, 200);
    const transferred = await chat(gw, ada, 'POST', `/v1/conversations/${id}/transfer`, { to: { agentId: BOB } });
    assert.equal(transferred.status, 200, JSON.stringify(transferred.body));
    assert.equal((await send(bob, '/v1/orders/ORD-0000001', { conversation: id })).res.status, 200);
    await assertRefused(await send(ada, '/v1/orders/ORD-0000001', { conversation: id }), 403, 'NOT_A_PARTICIPANT', 'getOrder');
  });

  test('writes stay with API keys: an agent may not open a ticket, an API key may not name a conversation', async () => {
    const ticket = { customerId: '42', subject: 'attribution probe', description: 'never opened' };
    const create = { capability: 'ticket.create', params: { requesterRef: 'u_f42b2537', ...ticket } };
    const refused = [
      await send(ada, '/v1/tickets', { conversation: conversationId, body: ticket }),
      await send(ada, '/v1/query', { conversation: conversationId, body: create }),
      await send(sue, '/v1/query', { body: create }),
    ];
    await assertRefused(refused[0]!, 403, 'FORBIDDEN', 'createTicket');
    for (const sent of refused.slice(1)) await assertRefused(sent, 403, 'FORBIDDEN', 'query');
    const keyed = [await send(SERVICE, '/v1/tickets', { conversation: conversationId, body: ticket }), await send(SERVICE, '/v1/query', { conversation: conversationId, body: create })];
    await assertRefused(keyed[0]!, 403, 'NOT_A_PARTICIPANT', 'createTicket');
    await assertRefused(keyed[1]!, 403, 'NOT_A_PARTICIPANT', 'query');
    await assertNeverReached('tickets', [...refused, ...keyed]);
    await assertNeverReached('crm', [refused[0]!, keyed[0]!]);
  });

  test('agent tokens open nothing else of the API-key area', async () => {
    for (const path of ['/v1/connectors', '/v1/jobs', '/v1/proxy/orders/api/orders/ORD-0000001']) {
      const sent = await send(ada, path, { conversation: conversationId });
      assert.equal(sent.res.status, 403, path);
      assert.equal(((await sent.res.json()) as { code: string }).code, 'FORBIDDEN', path);
    }
  });
});
