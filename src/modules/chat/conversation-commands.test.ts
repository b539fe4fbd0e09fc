import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { createMemoryLeaseStore } from '../../adapters/memory/memory-lease-store.ts';
import { createMemoryConversationStore } from '../../adapters/memory/memory-conversation-store.ts';
import { createMemoryJobBackend } from '../../adapters/memory/memory-job-backend.ts';
import type { ChatConfig } from '../../config/chat-config.ts';
import { AppError } from '../../kernel/errors.ts';
import type { AgentPrincipal, ServicePrincipal, VisitorPrincipal } from '../../kernel/principal.ts';
import type { ConversationStore } from '../../ports/conversation-store.ts';
import { createJobQueues, type JobQueues } from '../jobs/job-queues.ts';
import { createMetrics } from '../observability/metrics.ts';
import type { ConversationEvent, ConversationState, OfferRecord } from './conversation.types.ts';
import { createConversations, type Conversations } from './conversations.service.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { LeftMessages } from './left-messages.ts';

// The real service over the memory adapters, with a small dispatcher and tickets seam of the test's own.
const opened: JobQueues[] = [];
after(async () => {
  for (const jobs of opened) await jobs.close(1_000);
});

const CONFIG: ChatConfig = { visitorIdleMs: 600_000, agentAnswerMs: 600_000, reopenWindowMs: 60_000, retentionMs: 60_000, maxOpenPerVisitor: 5, bot: 'none' };
const visitorOf = (id: string, customerId?: string): VisitorPrincipal =>
  ({ kind: 'visitor', name: `visitor:${id}`, visitorId: id, site: 'shop', roles: [], expiresAt: Date.now() + 3_600_000, ...(customerId ? { customerId } : {}) });
const agentOf = (id: string, supervisor = false): AgentPrincipal =>
  ({ kind: 'agent', name: `agent:${id}`, agentId: id, roles: supervisor ? ['agent', 'supervisor'] : ['agent'], expiresAt: Date.now() + 3_600_000 });
const service: ServicePrincipal = { kind: 'service', name: 'crm', roles: ['api'] };

/**
 * A dispatcher that keeps its claims and open offers in maps, as the routing one keeps them in
 * Redis: an agent holds at most `capacity` conversations (unless forced), an offer is taken once.
 */
function createRecordingDispatcher(capacity = 1) {
  const held = new Map<string, Set<string>>(); // agent → conversations
  const open = new Map<string, { conversationId: string; agentId: string }>(); // offerId → offer
  const calls: string[] = [];
  let n = 0;
  let beforeClaimed: (() => Promise<void>) | undefined;
  const hold = (agentId: string, conversationId: string) => held.set(agentId, new Set([...(held.get(agentId) ?? []), conversationId]));
  const dispatcher: Dispatcher = {
    name: 'recording',
    async appended(conversationId, _before, after, events) {
      calls.push(`appended ${events.map((e) => e.type.replace('conversation.', '')).join(',')}`);
      // The conversation left its agents but the one it is with.
      if (after.status !== 'assigned' && after.status !== 'pending') for (const set of held.values()) set.delete(conversationId);
    },
    async claim(conversationId, _state, { agentId, offerId, force }) {
      calls.push(`claim ${agentId}${offerId ? ` ${offerId}` : ''}${force ? ' force' : ''}`);
      await beforeClaimed?.();
      if (offerId !== undefined) {
        const offer = open.get(offerId);
        if (offer?.agentId !== agentId || offer.conversationId !== conversationId) throw new AppError('OFFER_EXPIRED', `offer ${offerId} is not open`);
        open.delete(offerId);
        return { offerId };
      }
      if (!force && (held.get(agentId)?.size ?? 0) >= capacity) throw new AppError('AGENT_AT_CAPACITY', `${agentId} holds ${capacity}`);
      hold(agentId, conversationId);
      return { offerId: `claim-${++n}` };
    },
    async unclaim(conversationId, agentId, offerId) {
      calls.push(`unclaim ${agentId} ${offerId}`);
      held.get(agentId)?.delete(conversationId);
    },
    async decline(conversationId, agentId, offerId) {
      calls.push(`decline ${agentId} ${offerId}`);
      const offer = open.get(offerId);
      if (offer?.agentId !== agentId || offer.conversationId !== conversationId) throw new AppError('OFFER_EXPIRED', `offer ${offerId} is not open`);
      open.delete(offerId);
      held.get(agentId)?.delete(conversationId);
    },
  };
  return {
    dispatcher, calls, held,
    /** Opens an offer as dispatch's pump does (the agent's load grows), for the service to record. */
    offer(conversationId: string, agentId: string, offerId: string) {
      open.set(offerId, { conversationId, agentId });
      hold(agentId, conversationId);
    },
    /** Runs once, inside the next claim (another writer moving the conversation on meanwhile). */
    duringNextClaim(work: () => Promise<void>) {
      beforeClaimed = async () => { beforeClaimed = undefined; await work(); };
    },
  };
}

/** A tickets seam that makes one job per conversation, as the real job is idempotent by it. */
function createRecordingMessages(): LeftMessages & { jobs: Map<string, { state: ConversationState; text: string; email?: string }> } {
  const jobs = new Map<string, { state: ConversationState; text: string; email?: string }>();
  return {
    jobs,
    async enqueue(conversationId, state, message) {
      const id = `lm-${conversationId}`;
      if (!jobs.has(id)) jobs.set(id, { state, ...message });
      return id;
    },
  };
}

let visitors = 0;
function setUp(options: { capacity?: number; messages?: boolean; store?: (memory: ConversationStore<ConversationEvent>) => ConversationStore<ConversationEvent> } = {}) {
  const backend = createMemoryJobBackend();
  const jobs = createJobQueues({ backend, log: pino({ level: 'silent' }), metrics: createMetrics(), attempts: 3, backoffMs: 1 });
  opened.push(jobs);
  const recording = createRecordingDispatcher(options.capacity);
  const messages = createRecordingMessages();
  const conversations = createConversations({
    store: (options.store ?? ((m) => m))(createMemoryConversationStore<ConversationEvent>({ nodeId: 'test' })), jobs, locks: createMemoryLeaseStore(), config: CONFIG,
    log: pino({ level: 'silent' }), dispatcher: recording.dispatcher, ...(options.messages === false ? {} : { messages }),
  });
  visitors += 1;
  return { conversations, recording, messages, visitor: visitorOf(`v-${visitors}`) };
}

const queuedOne = async (c: Conversations, visitor: VisitorPrincipal) => (await c.start(visitor, { group: 'sales' })).conversationId;
const eventsOf = async (c: Conversations, id: string) => (await c.history(service, id, {})).events;
const offerRecord = (offerId: string, agentId: string): OfferRecord => ({ offerId, agentId, expiresAt: new Date(Date.now() + 30_000).toISOString(), autoAssign: false, reason: 'least_busy', candidates: [], passedOver: 0 });

describe('conversation commands with a dispatcher', () => {
  test('an agent\'s accept is claimed first; the assigned event carries the claim\'s id and is appended under it (a re-append is a duplicate)', async () => {
    const { conversations, recording, visitor } = setUp();
    const id = await queuedOne(conversations, visitor);
    const accepted = await conversations.command(agentOf('a-1'), id, { type: 'accept' });
    assert.deepEqual(recording.calls.slice(-2), ['claim a-1', 'appended assigned']);
    const assigned = (await eventsOf(conversations, id)).at(-1);
    assert.deepEqual([assigned?.type, assigned?.data], ['conversation.assigned', { agentId: 'a-1', offerId: 'claim-1' }]);
    // A sweeper re-appending that claim's assignment finds it done.
    assert.deepEqual(await conversations.dispatch(id, { type: 'accept', agentId: 'a-1', offerId: 'claim-1' }), { seq: accepted.seq, duplicate: true });
  });

  test('a claim the dispatcher refuses (AGENT_AT_CAPACITY) appends nothing; a supervisor\'s transfer forces it', async () => {
    const { conversations, recording, visitor } = setUp({ capacity: 1 });
    const first = await queuedOne(conversations, visitor);
    const second = await queuedOne(conversations, visitor);
    await conversations.command(agentOf('a-1'), first, { type: 'accept' });
    await assert.rejects(conversations.command(agentOf('a-1'), second, { type: 'accept' }), { code: 'AGENT_AT_CAPACITY' });
    assert.equal((await conversations.get(service, second)).status, 'queued');
    await conversations.command(agentOf('a-2'), second, { type: 'accept' });
    await conversations.command(agentOf('boss', true), second, { type: 'transfer', to: { agentId: 'a-1' } });
    assert.equal(recording.calls.filter((c) => c.startsWith('claim')).at(-1), 'claim a-1 force');
    assert.equal((await conversations.get(service, second)).agentId, 'a-1');
  });

  test('accepting an offer claims that offer; a retry of the same accept answers the first outcome', async () => {
    const { conversations, recording, visitor } = setUp();
    const id = await queuedOne(conversations, visitor);
    recording.offer(id, 'a-1', 'o-1');
    await conversations.dispatch(id, { type: 'offer', offer: offerRecord('o-1', 'a-1') });
    await assert.rejects(conversations.command(agentOf('a-2'), id, { type: 'accept', offerId: 'o-1' }), { code: 'OFFER_EXPIRED' });
    const accepted = await conversations.command(agentOf('a-1'), id, { type: 'accept', offerId: 'o-1' });
    assert.deepEqual(await conversations.command(agentOf('a-1'), id, { type: 'accept', offerId: 'o-1' }), { seq: accepted.seq, duplicate: true });
    const state = await conversations.get(service, id);
    assert.deepEqual([state.status, state.agentId, state.offer], ['assigned', 'a-1', undefined]);
  });

  test('a claim whose append is refused (the conversation closed meanwhile) is given back', async () => {
    const { conversations, recording, visitor } = setUp();
    const id = await queuedOne(conversations, visitor);
    recording.duringNextClaim(async () => { await conversations.command(visitor, id, { type: 'abandon' }); });
    await assert.rejects(conversations.command(agentOf('a-1'), id, { type: 'accept' }), { code: 'INVALID_TRANSITION' });
    assert.deepEqual(recording.calls.filter((c) => c.startsWith('claim') || c.startsWith('unclaim')), ['claim a-1', 'unclaim a-1 claim-1']);
    assert.equal(recording.held.get('a-1')?.size, 0);
  });

  test('a claim whose append failed in the store (it may have been written) is not given back: dispatch\'s sweeper completes it by its offer id', async () => {
    let failing = false;
    const { conversations, recording, visitor } = setUp({ store: (memory) => ({ ...memory, append: (input) => (failing ? Promise.reject(new Error('connection reset')) : memory.append(input)) }) });
    const id = await queuedOne(conversations, visitor);
    failing = true;
    await assert.rejects(conversations.command(agentOf('a-1'), id, { type: 'accept' }), { code: 'STORE_UNAVAILABLE' });
    failing = false;
    assert.ok(!recording.calls.some((c) => c.startsWith('unclaim')));
    await conversations.dispatch(id, { type: 'accept', agentId: 'a-1', offerId: 'claim-1' });
    assert.deepEqual((await eventsOf(conversations, id)).at(-1)?.data, { agentId: 'a-1', offerId: 'claim-1' });
  });

  test('a command the conversation refuses anyway claims nothing', async () => {
    const { conversations, recording, visitor } = setUp();
    const id = await queuedOne(conversations, visitor);
    await conversations.command(visitor, id, { type: 'abandon' });
    await assert.rejects(conversations.command(agentOf('a-1'), id, { type: 'accept' }), { code: 'INVALID_TRANSITION' });
    assert.ok(!recording.calls.some((c) => c.startsWith('claim')));
  });

  test('an agent transfers only a conversation assigned to itself; a supervisor and a service any', async () => {
    const { conversations, visitor } = setUp({ capacity: 5 });
    const id = await queuedOne(conversations, visitor);
    await assert.rejects(conversations.command(agentOf('a-2'), id, { type: 'transfer', to: { group: 'billing' } }), { code: 'FORBIDDEN' });
    await conversations.command(agentOf('a-1'), id, { type: 'accept' });
    await assert.rejects(conversations.command(agentOf('a-2'), id, { type: 'transfer', to: { agentId: 'a-2' } }), { code: 'FORBIDDEN' });
    await conversations.command(agentOf('a-1'), id, { type: 'transfer', to: { agentId: 'a-2' } });
    await conversations.command(agentOf('boss', true), id, { type: 'transfer', to: { agentId: 'a-3' } });
    await conversations.command(service, id, { type: 'transfer', to: { group: 'billing' } });
    const state = await conversations.get(service, id);
    assert.deepEqual([state.status, state.group], ['queued', 'billing']);
  });

  test('an agent declines its open offer: the end is recorded, then dispatch offers it on; another agent\'s decline records nothing and tells dispatch nothing', async () => {
    const { conversations, recording, visitor } = setUp();
    const id = await queuedOne(conversations, visitor);
    recording.offer(id, 'a-1', 'o-1');
    await conversations.dispatch(id, { type: 'offer', offer: offerRecord('o-1', 'a-1') });
    await assert.rejects(conversations.command(agentOf('a-2'), id, { type: 'decline', offerId: 'o-1' }), { code: 'OFFER_EXPIRED' });
    assert.ok(!recording.calls.some((c) => c.startsWith('decline')));
    const declined = await conversations.command(agentOf('a-1'), id, { type: 'decline', offerId: 'o-1' });
    assert.deepEqual(recording.calls.slice(-2), ['appended offer_ended', 'decline a-1 o-1']);
    assert.deepEqual(await conversations.command(agentOf('a-1'), id, { type: 'decline', offerId: 'o-1' }), { seq: declined.seq, duplicate: true }, 'a retry');
    assert.equal(recording.calls.at(-1), 'decline a-1 o-1', 'a retry tells dispatch again (it had ended it: nothing more)');
    const ended = (await eventsOf(conversations, id)).at(-1);
    assert.deepEqual([ended?.type, ended?.by, ended?.data], ['conversation.offer_ended', { kind: 'agent', id: 'a-1' }, { offerId: 'o-1', agentId: 'a-1', outcome: 'declined' }]);
    assert.equal((await conversations.get(service, id)).offer, undefined);
  });

  test('dispatch runs only its own commands, as the system actor dispatch', async () => {
    const { conversations, visitor } = setUp();
    const id = await queuedOne(conversations, visitor);
    await conversations.dispatch(id, { type: 'overflow', to: { group: 'orders' }, reason: 'wait_exceeded' }, 'overflow-1');
    const overflowed = (await eventsOf(conversations, id)).at(-1);
    assert.deepEqual([overflowed?.type, overflowed?.by], ['conversation.overflowed', { kind: 'system', id: 'dispatch' }]);
    assert.equal((await conversations.get(service, id)).group, 'orders');
    await assert.rejects(conversations.dispatch(id, { type: 'close' } as never), { code: 'FORBIDDEN' });
  });
});

describe('leaving a message', () => {
  test('an anonymous visitor asked to leave a message gives an email; the job is made, the conversation closes, and the ticket is recorded when it exists', async () => {
    const { conversations, messages, visitor } = setUp();
    const id = await queuedOne(conversations, visitor);
    await conversations.dispatch(id, { type: 'overflow', to: { leaveMessage: true }, reason: 'closed' });
    const asked = (await conversations.history(visitor, id, {})).events.at(-1);
    assert.deepEqual([asked?.type, asked?.data], ['conversation.message_requested', { reason: 'closed', emailRequired: true }]);
    await assert.rejects(conversations.command(visitor, id, { type: 'leave_message', text: 'call me back' }), { code: 'VALIDATION_FAILED', extensions: { field: 'email' } });
    assert.equal(messages.jobs.size, 0, 'no job for a refused message');
    const left = await conversations.command(visitor, id, { type: 'leave_message', text: 'call me back', email: 'v@example.com', ticketJobId: 'mine' });
    assert.deepEqual(await conversations.command(visitor, id, { type: 'leave_message', text: 'call me back', email: 'v@example.com' }, `message:lm-${id}`), { seq: left.seq, duplicate: true });
    assert.deepEqual([...messages.jobs.keys()], [`lm-${id}`]);
    assert.deepEqual(messages.jobs.get(`lm-${id}`)?.email, 'v@example.com');
    const state = await conversations.get(visitor, id);
    assert.deepEqual([state.status, state.closeReason, state.ticketJobId], ['closed', 'left_message', `lm-${id}`]);
    await conversations.dispatch(id, { type: 'ticket_opened', ticketId: 'TCK-7', ticketJobId: `lm-${id}` }, `ticket:lm-${id}`);
    assert.equal((await conversations.get(visitor, id)).ticketId, 'TCK-7');
    assert.deepEqual((await conversations.history(visitor, id, {})).events.slice(-3).map((e) => e.type), ['conversation.message_left', 'conversation.closed', 'conversation.ticket_opened']);
  });

  test('a known customer leaves a message without an email', async () => {
    const { conversations, messages } = setUp();
    const customer = visitorOf('v-customer', 'c-42');
    const id = await queuedOne(conversations, customer);
    await conversations.command(customer, id, { type: 'leave_message', text: 'my order is late' });
    assert.equal(messages.jobs.get(`lm-${id}`)?.state.visitor?.customerId, 'c-42');
  });

  test('without a tickets connector a message cannot be left (INVALID_TRANSITION), and nothing changes', async () => {
    const { conversations, visitor } = setUp({ messages: false });
    const id = await queuedOne(conversations, visitor);
    await assert.rejects(conversations.command(visitor, id, { type: 'leave_message', text: 'hello', email: 'v@example.com' }), { code: 'INVALID_TRANSITION' });
    assert.equal((await conversations.get(service, id)).status, 'queued');
  });
});
