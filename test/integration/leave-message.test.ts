// A message left when nobody can take a chat becomes a ticket in the tickets system: the job of
// src/modules/dispatch/message-tickets.ts run by the real conversations service over the real
// Redis, with the real connectors and the CRM and tickets backends of this test run.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createRedisConversationStore } from '../../src/adapters/redis/redis-conversation-store.ts';
import { createRedisLeaseStore } from '../../src/adapters/redis/redis-lease-store.ts';
import type { VisitorPrincipal } from '../../src/kernel/principal.ts';
import type { ConversationEvent } from '../../src/modules/chat/conversation.types.ts';
import { createConversations, type Conversations } from '../../src/modules/chat/conversations.service.ts';
import { bucketKey } from '../../src/modules/events/outbox-buckets.ts';
import { createMessageTickets, messageTicketJobId, type MessageTickets } from '../../src/modules/dispatch/message-tickets.ts';
import { chat, CHAT_ADMIN_KEY, chatEnv, openVisitor } from '../support/chat-rest.ts';
import { backendAdmin, ROOT_DIR, setFault, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';
import { waitFor } from '../support/wait.ts';

interface SeedCustomer {
  readonly id: number;
  readonly email: string;
  readonly external_ids: { readonly tickets_user_id: string };
}
interface Ticket {
  readonly id: string;
  readonly requesterRef: string;
  readonly subject: string;
  readonly description: string;
  readonly channel: string;
}

const seed = JSON.parse(readFileSync(join(ROOT_DIR, '.data/seed/crm-customers.json'), 'utf8')) as SeedCustomer[];
const customer = (id: number): SeedCustomer => seed.find((c) => c.id === id) ?? assert.fail(`seed customer ${id} is missing`);

describe('the message tickets job, run by the conversations service', () => {
let stack: QueryStack;
let conversations: Conversations;
let messages: MessageTickets;

before(async () => {
  const log = pino({ level: 'silent' });
  // Quick retries, and a breaker that lets calls through again soon after the backend is back.
  stack = await startQueryStack(log, { OMNIGATE_JOB_BACKOFF_MS: '50', OMNIGATE_CALL_TIMEOUT_MS: '1000', OMNIGATE_RESILIENCE_TICKETS_NODE_RESET_TIMEOUT_MS: '100' });
  const store = createRedisConversationStore<ConversationEvent>({ client: stack.redis.client, isUp: stack.redis.isUp, nodeId: `leave-message-${process.pid}`, buckets: stack.config.outboxBuckets, outboxKey: (bucket) => bucketKey(bucket, `leave-message-${process.pid}`) });
  messages = createMessageTickets({
    jobs: stack.jobs, query: stack.query, log, takesParam: stack.takesParam, takesIdempotencyKey: (capability) => stack.takesParam(capability, 'idempotencyKey'),
    appendTicketOpened: async (conversationId, ticketId, ticketJobId) => void (await conversations.dispatch(conversationId, { type: 'ticket_opened', ticketId, ticketJobId }, `ticket:${ticketJobId}`)),
  });
  conversations = createConversations({ store, jobs: stack.jobs, locks: createRedisLeaseStore(stack.redis), config: stack.config.chat, log, messages });
  stack.start();
});
after(() => stack.close());
afterEach(() => setFault('tickets', { mode: 'ok' }));

function visitor(customerId?: string): VisitorPrincipal {
  const visitorId = `v-${randomUUID()}`;
  return { kind: 'visitor', name: `visitor:${visitorId}`, visitorId, site: 'shop', roles: [], expiresAt: Date.now() + 3_600_000, ...(customerId === undefined ? {} : { customerId }) };
}

/** A conversation waiting in the queue (no bot here), started by the visitor. */
async function waiting(p: VisitorPrincipal, subject = 'Where is my parcel?'): Promise<string> {
  const { conversationId } = await conversations.start(p, { subject });
  assert.equal((await conversations.get(p, conversationId)).status, 'queued');
  return conversationId;
}

/** The ticket the visitor's history announces, once it does. */
async function ticketOpened(p: VisitorPrincipal, conversationId: string, timeoutMs?: number): Promise<{ ticketId: string; ticketJobId: string }> {
  return waitFor(`ticket_opened in conversation ${conversationId}`, async () => {
    const { events } = await conversations.history(p, conversationId, {});
    const opened = events.find((e) => e.type === 'conversation.ticket_opened');
    return opened?.type === 'conversation.ticket_opened' && opened.data;
  }, timeoutMs === undefined ? {} : { timeoutMs });
}

const ticket = async (id: string): Promise<Ticket> => (await stack.query.call('ticket.get', { id }, { trace: { traceId: '0'.repeat(32), spanId: '0'.repeat(16), sampled: false, requestId: 'test' }, log: pino({ level: 'silent' }) })).data as Ticket;

/** The tickets of a requester whose description is this text (the message left). */
async function ticketsWith(requesterRef: string, text: string): Promise<Ticket[]> {
  const page = await stack.query.call('ticket.list', { requesterRef, pageSize: 100 }, { trace: { traceId: '0'.repeat(32), spanId: '0'.repeat(16), sampled: false, requestId: 'test' }, log: pino({ level: 'silent' }) });
  return (page.data as { items: Ticket[] }).items.filter((t) => t.description === text);
}

const requestersCreated = async () => (await backendAdmin<{ requestersCreated: number }>('tickets', 'stats')).requestersCreated;

test("a verified customer's message becomes a chat ticket for their requester, and its number appears in their history", async () => {
  const quinn = customer(42);
  const p = visitor(String(quinn.id));
  const id = await waiting(p);
  const text = `Please call me back about my parcel (${randomUUID()})`;
  await conversations.command(p, id, { type: 'leave_message', text });
  const { events } = await conversations.history(p, id, {});
  const left = events.find((e) => e.type === 'conversation.message_left');
  assert.ok(left?.type === 'conversation.message_left');
  assert.equal((await conversations.get(p, id)).status, 'closed');

  const opened = await ticketOpened(p, id);
  assert.equal(opened.ticketJobId, left.data.ticketJobId);
  const made = await ticket(opened.ticketId);
  assert.deepEqual([made.requesterRef, made.description, made.subject, made.channel], [quinn.external_ids.tickets_user_id, text, 'Chat message: Where is my parcel?', 'chat']);
});

test('an anonymous visitor with a new email gets a requester made for it, then the ticket, then ticket_opened', async () => {
  const p = visitor();
  const id = await waiting(p);
  const email = `New.Visitor.${randomUUID()}@example.org`;
  const text = `I could not reach anyone (${randomUUID()})`;
  const before = await requestersCreated();
  await conversations.command(p, id, { type: 'leave_message', text, email });

  const made = await ticket((await ticketOpened(p, id)).ticketId);
  // The backend's id for a new email is a hash of it: the requester was made for this visitor.
  assert.equal(made.requesterRef, `u_${createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 8)}`);
  assert.equal(await requestersCreated(), before + 1);
  assert.equal((await ticketsWith(made.requesterRef, text)).length, 1);
});

test("an anonymous visitor who gives a known customer's email (another case) is matched through the CRM: no requester is made", async () => {
  const known = customer(43);
  const p = visitor();
  const id = await waiting(p);
  const text = `Matched by email (${randomUUID()})`;
  const before = await requestersCreated();
  await conversations.command(p, id, { type: 'leave_message', text, email: known.email.toUpperCase() });

  const made = await ticket((await ticketOpened(p, id)).ticketId);
  assert.equal(made.requesterRef, known.external_ids.tickets_user_id);
  assert.equal(await requestersCreated(), before);
});

test('an anonymous visitor must give an email: refused, and no job is made', async () => {
  const p = visitor();
  const id = await waiting(p);
  const { seq } = await conversations.get(p, id);
  await assert.rejects(conversations.command(p, id, { type: 'leave_message', text: 'no email' }), { code: 'VALIDATION_FAILED' });
  assert.equal((await stack.jobs.find(messageTicketJobId(id, seq))), undefined);
  assert.equal((await conversations.get(p, id)).status, 'queued');
});

test('an email the Requester schema would refuse is refused when the message is left, not when its job runs: no job is made', async () => {
  const p = visitor();
  const id = await waiting(p);
  const { seq } = await conversations.get(p, id);
  // Both pass "one @, no spaces, a dot in the domain"; neither is a `format: email` address.
  for (const email of ['jörg@example.de', 'two..dots@example.org']) {
    await assert.rejects(conversations.command(p, id, { type: 'leave_message', text: 'write back', email }), { code: 'VALIDATION_FAILED' }, email);
  }
  assert.equal((await stack.jobs.find(messageTicketJobId(id, seq))), undefined);
  assert.equal((await conversations.get(p, id)).status, 'queued');
});

test('with the tickets backend down the job is retried; when it is back (after a lost answer too) exactly one ticket is made and announced', async () => {
  const known = customer(44);
  const p = visitor();
  const id = await waiting(p);
  const text = `Sent while the tickets system was down (${randomUUID()})`;
  await setFault('tickets', { mode: 'down' });
  const { seq } = await conversations.get(p, id);
  await conversations.command(p, id, { type: 'leave_message', text, email: known.email });
  const jobId = messageTicketJobId(id, seq);
  await waitFor('the job to fail twice and wait for its next attempt', async () => {
    const job = (await stack.jobs.find(jobId))?.view;
    return job !== undefined && job.attempts >= 2 && job.state !== 'completed' && job.state !== 'dead' && job.error !== undefined && ['UPSTREAM_UNAVAILABLE', 'CIRCUIT_OPEN'].includes(job.error.code);
  });
  assert.equal((await conversations.history(p, id, {})).events.some((e) => e.type === 'conversation.ticket_opened'), false);

  // Next the create reaches the backend but its answer is held past the call's deadline: made, not told.
  const created = (await backendAdmin<{ ticketsCreated: number }>('tickets', 'stats')).ticketsCreated;
  await setFault('tickets', { mode: 'hold' });
  await waitFor('the ticket to be made while its answer is held', async () => (await backendAdmin<{ ticketsCreated: number }>('tickets', 'stats')).ticketsCreated > created);
  await waitFor('the attempt to time out', async () => (await stack.jobs.find(jobId))?.view.error?.code === 'UPSTREAM_TIMEOUT');

  await setFault('tickets', { mode: 'ok' });
  const opened = await ticketOpened(p, id);
  const mine = await ticketsWith(known.external_ids.tickets_user_id, text);
  assert.deepEqual(mine.map((t) => t.id), [opened.ticketId]);
  assert.equal((await stack.jobs.find(jobId))?.view.state, 'completed');
});

test('the same conversation enqueued twice is one job and one ticket, and a repeat of the command is the same outcome', async () => {
  const p = visitor();
  const id = await waiting(p);
  const email = `twice.${randomUUID()}@example.org`;
  const text = `Only once, please (${randomUUID()})`;
  const state = await conversations.get(p, id);
  const first = await messages.enqueue(id, state, { text, email });
  assert.equal(await messages.enqueue(id, state, { text, email }), first);
  const left = await conversations.command(p, id, { type: 'leave_message', text, email }, 'leave-1');
  assert.deepEqual(await conversations.command(p, id, { type: 'leave_message', text, email }, 'leave-1'), { ...left, duplicate: true });

  const opened = await ticketOpened(p, id);
  assert.equal(opened.ticketJobId, first);
  assert.equal(await messages.enqueue(id, state, { text, email }), first, 'a completed job is found again, not queued anew');
  const made = await ticket(opened.ticketId);
  assert.deepEqual((await ticketsWith(made.requesterRef, text)).map((t) => t.id), [opened.ticketId]);
  const { events } = await conversations.history(p, id, {});
  assert.equal(events.filter((e) => e.type === 'conversation.message_left').length, 1);
  assert.equal(events.filter((e) => e.type === 'conversation.ticket_opened').length, 1);
});

test('a message left again after the conversation was reopened is a ticket of its own', async () => {
  const p = visitor();
  const id = await waiting(p);
  const email = `again.${randomUUID()}@example.org`;
  await conversations.command(p, id, { type: 'leave_message', text: `First (${randomUUID()})`, email });
  const first = await ticketOpened(p, id);
  await conversations.command(p, id, { type: 'reopen' });
  assert.equal((await conversations.get(p, id)).status, 'queued');
  await conversations.command(p, id, { type: 'leave_message', text: `Second (${randomUUID()})`, email });
  const second = await waitFor('a second ticket_opened', async () => {
    const opened = (await conversations.history(p, id, {})).events.filter((e) => e.type === 'conversation.ticket_opened');
    const last = opened[1];
    return last?.type === 'conversation.ticket_opened' && last.data;
  });
  assert.notEqual(second.ticketJobId, first.ticketJobId);
  assert.notEqual(second.ticketId, first.ticketId);
});

test('a job that makes the ticket before the conversation has recorded the message waits for it, then announces the ticket', async () => {
  const p = visitor();
  const id = await waiting(p);
  const email = `early.${randomUUID()}@example.org`;
  const text = `The job was quicker (${randomUUID()})`;
  // The service queues the job before it appends message_left: here the job runs first.
  const jobId = await messages.enqueue(id, await conversations.get(p, id), { text, email });
  await waitFor('the ticket made and the announcement refused for now', async () => {
    const job = (await stack.jobs.find(jobId))?.view;
    return job?.error?.code === 'CONVERSATION_BUSY' && job.state !== 'dead';
  });
  await conversations.command(p, id, { type: 'leave_message', text, email });
  const opened = await ticketOpened(p, id);
  assert.equal(opened.ticketJobId, jobId);
  assert.deepEqual((await ticketsWith((await ticket(opened.ticketId)).requesterRef, text)).map((t) => t.id), [opened.ticketId]);
});
});

describe('leaving a message over HTTP', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(chatEnv({ OMNIGATE_JOB_BACKOFF_MS: '50', OMNIGATE_RESILIENCE_TICKETS_NODE_RESET_TIMEOUT_MS: '100' }));
  });
  after(() => gw?.stop());
  afterEach(() => setFault('tickets', { mode: 'ok' }));

  const events = async (token: string, id: string) => (await chat(gw, token, 'GET', `/v1/conversations/${id}/events`)).body.events as ConversationEvent[];

  test("an anonymous visitor's message, left while the tickets system is down, shows its ticket number in the visitor's history once it is back", async () => {
    const visitorSession = await openVisitor(gw);
    const started = await chat(gw, visitorSession.token, 'POST', '/v1/conversations', { subject: 'Broken zipper', topic: 'returns' });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = String(started.body.conversationId);
    const email = `http.visitor.${randomUUID()}@example.org`;
    const text = `Nobody answered, please write back (${randomUUID()})`;

    assert.equal((await chat(gw, visitorSession.token, 'POST', `/v1/conversations/${id}/leave-message`, { text })).body.code, 'VALIDATION_FAILED', 'an anonymous visitor gives an email');
    await setFault('tickets', { mode: 'down' });
    const left = await chat(gw, visitorSession.token, 'POST', `/v1/conversations/${id}/leave-message`, { text, email });
    assert.equal(left.status, 200, JSON.stringify(left.body));
    assert.equal(left.body.conversation.status, 'closed');
    const message = (await events(visitorSession.token, id)).find((e) => e.type === 'conversation.message_left');
    assert.ok(message?.type === 'conversation.message_left');
    const jobId = message.data.ticketJobId;

    // The job waits for its next attempt, as the admin jobs API shows it (schema-checked).
    const admin = { headers: { 'x-api-key': CHAT_ADMIN_KEY } };
    await waitFor('the ticket job to be retried', async () => {
      const list = await assertMatchesSpec(await gw.api('/v1/admin/jobs?state=delayed&queue=message-tickets&limit=1000', admin), 'listJobs');
      return (list.jobs as { id: string; attempts: number }[]).some((j) => j.id === jobId && j.attempts >= 2);
    });
    assert.equal((await events(visitorSession.token, id)).some((e) => e.type === 'conversation.ticket_opened'), false);

    await setFault('tickets', { mode: 'ok' });
    const opened = await waitFor('ticket_opened in the visitor history', async () => {
      const found = (await events(visitorSession.token, id)).find((e) => e.type === 'conversation.ticket_opened');
      return found?.type === 'conversation.ticket_opened' && found.data;
    });
    assert.equal(opened.ticketJobId, jobId);
    const made = await assertMatchesSpec(await gw.api(`/v1/tickets/${opened.ticketId}`), 'getTicket');
    assert.deepEqual([made.data.description, made.data.subject, made.data.channel], [text, 'Chat message: returns', 'chat']);
    const job = await assertMatchesSpec(await gw.api(`/v1/admin/jobs?state=completed&queue=message-tickets&limit=1000`, admin), 'listJobs');
    assert.deepEqual((job.jobs as { id: string; result?: unknown }[]).find((j) => j.id === jobId)?.result, { conversationId: id, ticketId: opened.ticketId, requesterRef: made.data.requesterRef });
  });
});
