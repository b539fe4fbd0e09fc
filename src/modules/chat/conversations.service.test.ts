import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { waitFor } from '../../../test/support/wait.ts';
import { createMemoryLeaseStore } from '../../adapters/memory/memory-lease-store.ts';
import { createMemoryConversationStore } from '../../adapters/memory/memory-conversation-store.ts';
import { createMemoryJobBackend } from '../../adapters/memory/memory-job-backend.ts';
import type { ChatConfig } from '../../config/chat-config.ts';
import type { AgentPrincipal, ServicePrincipal, VisitorPrincipal } from '../../kernel/principal.ts';
import { createJobQueues, type JobQueues } from '../jobs/job-queues.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createMemoryBlobStore } from '../../adapters/memory/memory-blob-store.ts';
import { AppError } from '../../kernel/errors.ts';
import { createBotRunner } from '../bot/bot-jobs.ts';
import { createRuleBot } from '../bot/rule-bot.ts';
import type { ConversationStore } from '../../ports/conversation-store.ts';
import type { Actor, ConversationEvent } from './conversation.types.ts';
import { createConversations, type Conversations } from './conversations.service.ts';

// The real service over the memory adapters of the conversation store and the job queue.
const opened: { jobs: JobQueues; backend: ReturnType<typeof createMemoryJobBackend> }[] = [];
after(async () => {
  for (const { jobs, backend } of opened) {
    await jobs.close(1_000);
    await backend.close();
  }
});

const CONFIG: ChatConfig = { visitorIdleMs: 600_000, agentAnswerMs: 600_000, reopenWindowMs: 60_000, retentionMs: 60_000, maxOpenPerVisitor: 2, bot: 'none' };
const visitorOf = (id: string): VisitorPrincipal => ({ kind: 'visitor', name: `visitor:${id}`, visitorId: id, site: 'shop', roles: [], expiresAt: Date.now() + 3_600_000 });
const agentOf = (id: string): AgentPrincipal => ({ kind: 'agent', name: `agent:${id}`, agentId: id, roles: ['agent'], expiresAt: Date.now() + 3_600_000 });
const service: ServicePrincipal = { kind: 'service', name: 'crm', roles: ['api'] };
const text = (t: string) => ({ contentType: 'text', text: t }) as const;
let n = 0;

interface SetUpOptions {
  bot?: boolean;
  store?: (memory: ConversationStore<ConversationEvent>) => ConversationStore<ConversationEvent>;
  /** The service reads the test's clock too (its events' times, its timers' deadlines). */
  clocked?: boolean;
  /** Another node's service over this one's store. */
  sharing?: ConversationStore<ConversationEvent>;
}

function setUp(config: Partial<ChatConfig> = {}, options: SetUpOptions = {}) {
  let clock = Date.now();
  const memory = options.sharing ?? createMemoryConversationStore<ConversationEvent>({ nodeId: 'test', now: () => clock });
  const store = options.store?.(memory) ?? memory;
  // A job backend of its own: another test's workers must not take this one's timers.
  const backend = createMemoryJobBackend();
  const jobs = createJobQueues({ backend, log: pino({ level: 'silent' }), metrics: createMetrics(), attempts: 3, backoffMs: 1 });
  opened.push({ jobs, backend });
  // The rule bot, run as jobs as in the gateway; it makes no query (a call would fail the test).
  const bot = options.bot ? createBotRunner({
    jobs, bot: createRuleBot(), conversations: () => conversations.forBot!, leases: createMemoryLeaseStore(), progress: createMemoryBlobStore(), log: pino({ level: 'silent' }),
    query: { call: async (capability) => { throw new AppError('UNKNOWN_CAPABILITY', `no ${capability} here`); } }, lockMs: 1_000, attempts: 20, backoffMs: 1, keepMs: 60_000,
  }) : undefined;
  const conversations: Conversations = createConversations({ store, jobs, locks: createMemoryLeaseStore(), config: { ...CONFIG, ...config }, log: pino({ level: 'silent' }), ...(bot ? { bot } : {}), ...(options.clocked ? { now: () => clock } : {}) });
  jobs.start();
  n += 1;
  return { conversations, store, jobs, visitor: visitorOf(`v-${n}`), tick: (ms: number) => (clock += ms) };
}

describe('conversations service', () => {
  test('without a bot a new conversation is queued; a repeated start with the same client id finds it', async () => {
    const { conversations, visitor } = setUp();
    const first = await conversations.start(visitor, { group: 'sales', content: text('hi') }, 'start-1');
    const again = await conversations.start(visitor, { group: 'sales', content: text('hi') }, 'start-1');
    assert.deepEqual(again, { conversationId: first.conversationId, seq: first.seq, duplicate: true });
    const view = await conversations.get(visitor, first.conversationId);
    assert.equal(view.status, 'queued');
    assert.equal(view.group, undefined, 'a visitor is not shown the group');
    assert.equal((await conversations.get(service, first.conversationId)).group, 'sales');
    const queued = await conversations.list(agentOf('a-1'), { state: 'queued' }, { limit: 50 });
    assert.ok(queued.items.some((c) => c.id === first.conversationId));
  });

  test('first claim wins: of two concurrent accepts one assigns, the other is refused CONVERSATION_ALREADY_ASSIGNED', async () => {
    const { conversations, visitor } = setUp();
    const { conversationId } = await conversations.start(visitor, {});
    const results = await Promise.allSettled([conversations.command(agentOf('a-1'), conversationId, { type: 'accept' }), conversations.command(agentOf('a-2'), conversationId, { type: 'accept' })]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const refused = results.find((r) => r.status === 'rejected');
    assert.equal((refused as PromiseRejectedResult).reason.code, 'CONVERSATION_ALREADY_ASSIGNED');
    const view = await conversations.get(service, conversationId);
    assert.equal(view.status, 'assigned');
    assert.equal(view.seq, 3);
  });

  test('a command repeated with its client id answers the first outcome instead of refusing', async () => {
    const { conversations, visitor } = setUp();
    const { conversationId } = await conversations.start(visitor, {});
    const first = await conversations.command(agentOf('a-1'), conversationId, { type: 'accept' }, 'accept-1');
    assert.deepEqual(await conversations.command(agentOf('a-1'), conversationId, { type: 'accept' }, 'accept-1'), { seq: first.seq, duplicate: true });
  });

  test('a message is stored once per client id; concurrent senders both get in, in some order', async () => {
    const { conversations, visitor } = setUp();
    const { conversationId } = await conversations.start(visitor, {});
    await conversations.command(agentOf('a-1'), conversationId, { type: 'accept' });
    const [a, b] = await Promise.all([
      conversations.send(visitor, conversationId, { clientId: 'm-1', content: text('hello') }),
      conversations.send(agentOf('a-1'), conversationId, { clientId: 'm-2', content: text('hi there') }),
    ]);
    assert.notEqual(a.seq, b.seq);
    assert.deepEqual(await conversations.send(visitor, conversationId, { clientId: 'm-1', content: text('hello') }), { seq: a.seq, duplicate: true });
    const { events } = await conversations.history(service, conversationId, {});
    assert.equal(events.filter((e) => e.type === 'conversation.message_sent').length, 2);
  });

  test('a visitor sees neither internal notes nor routing detail, cannot send agent commands, and cannot see others\' conversations', async () => {
    const { conversations, visitor } = setUp();
    const { conversationId } = await conversations.start(visitor, { group: 'sales' });
    await conversations.command(agentOf('a-1'), conversationId, { type: 'accept' });
    await conversations.send(agentOf('a-1'), conversationId, { clientId: 'n-1', content: text('VIP, be nice'), visibility: 'internal' });
    await conversations.command(agentOf('a-1'), conversationId, { type: 'transfer', to: { agentId: 'a-2' }, reason: 'billing expert' });
    const seen = await conversations.history(visitor, conversationId, {});
    assert.deepEqual(seen.events.map((e) => e.type), ['conversation.created', 'conversation.assigned', 'conversation.assigned']);
    assert.equal(seen.lastSeq, 6);
    assert.equal((await conversations.history(service, conversationId, {})).events.length, 6);
    await assert.rejects(conversations.send(visitor, conversationId, { clientId: 'n-2', content: text('x'), visibility: 'internal' }), { code: 'FORBIDDEN' });
    await assert.rejects(conversations.command(visitor, conversationId, { type: 'close' }), { code: 'FORBIDDEN' });
    await assert.rejects(conversations.get(visitorOf('someone-else'), conversationId), { code: 'NOT_FOUND' });
    await assert.rejects(conversations.history(visitorOf('someone-else'), conversationId, {}), { code: 'NOT_FOUND' });
    assert.deepEqual((await conversations.list(visitorOf('someone-else'), {}, { limit: 10 })).items, []);
  });

  test('an invalid command changes nothing', async () => {
    const { conversations, visitor } = setUp();
    const { conversationId } = await conversations.start(visitor, {});
    await assert.rejects(conversations.command(agentOf('a-1'), conversationId, { type: 'wake' }), { code: 'INVALID_TRANSITION', extensions: { state: 'queued', command: 'wake' } });
    assert.equal((await conversations.get(service, conversationId)).seq, 2);
  });

  test('a visitor may hold a configured number of open conversations; a closed one no longer counts', async () => {
    const { conversations, visitor } = setUp({ maxOpenPerVisitor: 1 });
    const { conversationId } = await conversations.start(visitor, {});
    await assert.rejects(conversations.start(visitor, {}), { code: 'CONVERSATION_LIMIT_REACHED' });
    await conversations.command(visitor, conversationId, { type: 'abandon' });
    await conversations.start(visitor, {});
  });

  test('concurrent starts by one visitor never pass its cap of open conversations', async () => {
    const { conversations, visitor } = setUp({ maxOpenPerVisitor: 2 });
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => conversations.start(visitor, {}, `race-${i}`)));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 2);
    for (const o of outcomes) if (o.status === 'rejected') assert.equal((o.reason as { code: string }).code, 'CONVERSATION_LIMIT_REACHED');
    assert.equal((await conversations.list(visitor, {}, { limit: 50 })).items.length, 2);
  });

  test('the state at a seq is the fold of the events up to it; once retention removed a closed stream, history says HISTORY_EXPIRED and the state stays', async () => {
    const { conversations, visitor, tick } = setUp();
    const { conversationId } = await conversations.start(visitor, {});
    await conversations.command(agentOf('a-1'), conversationId, { type: 'accept' });
    await conversations.command(agentOf('a-1'), conversationId, { type: 'close' });
    assert.equal((await conversations.stateAt(service, conversationId, 2)).status, 'queued');
    assert.equal((await conversations.stateAt(service, conversationId, 3)).agentId, 'a-1');
    tick(CONFIG.retentionMs + 1);
    await assert.rejects(conversations.history(service, conversationId, { afterSeq: 0 }), { code: 'HISTORY_EXPIRED' });
    await assert.rejects(conversations.stateAt(service, conversationId, 2), { code: 'HISTORY_EXPIRED' });
    assert.equal((await conversations.get(service, conversationId)).status, 'closed');
  });

  test('the agent-answer timer requeues a conversation its agent leaves unanswered', async () => {
    const { conversations, visitor } = setUp({ agentAnswerMs: 30 });
    const { conversationId } = await conversations.start(visitor, {});
    await conversations.command(agentOf('a-1'), conversationId, { type: 'accept' });
    await waitFor('the requeue', async () => (await conversations.get(service, conversationId)).status === 'queued');
    const { events } = await conversations.history(service, conversationId, { afterSeq: 3 });
    assert.deepEqual(events.map((e) => [e.type, e.by.kind, e.data]), [['conversation.queued', 'system', { reason: 'agent_timeout' }]]);
  });

  test('a timer no longer needed is cancelled, and the next one set in its place', async () => {
    const { conversations, visitor, jobs } = setUp();
    const { conversationId } = await conversations.start(visitor, {});
    assert.equal((await jobs.find(`ct_${conversationId}_visitor_idle_2`))?.view.state, 'delayed');
    await conversations.command(agentOf('a-1'), conversationId, { type: 'accept' });
    assert.equal(await jobs.find(`ct_${conversationId}_visitor_idle_2`), undefined);
    assert.equal((await jobs.find(`ct_${conversationId}_agent_answer_3`))?.view.state, 'delayed');
    await conversations.send(agentOf('a-1'), conversationId, { clientId: 'm-1', content: text('hello') });
    assert.equal(await jobs.find(`ct_${conversationId}_agent_answer_3`), undefined);
    assert.equal((await jobs.find(`ct_${conversationId}_visitor_idle_4`))?.view.state, 'delayed');
    await conversations.command(agentOf('a-1'), conversationId, { type: 'close' });
    assert.equal(await jobs.find(`ct_${conversationId}_visitor_idle_4`), undefined);
  });

  test('a message before the deadline moves the timer on without a new job: the one set sets itself again and fires once the time since the last message is up', async () => {
    const { conversations, visitor, jobs, tick } = setUp({ agentAnswerMs: 500 }, { clocked: true });
    const { conversationId } = await conversations.start(visitor, {});
    await conversations.command(agentOf('a-1'), conversationId, { type: 'accept' });
    tick(300);
    const { seq } = await conversations.send(visitor, conversationId, { clientId: 'm-1', content: text('anyone there?') });
    assert.equal(await jobs.find(`ct_${conversationId}_agent_answer_${seq}`), undefined, 'a message sets no job of its own');
    // The first timer fires 500 ms after the accept, by the test's clock only 300 ms: 200 ms short of the message's deadline.
    await waitFor('the timer set again', async () => (await jobs.find(`ct_${conversationId}_agent_answer_${seq}`))?.view.state === 'delayed');
    assert.equal((await jobs.find(`ct_${conversationId}_agent_answer_3`))?.view.state, 'completed');
    assert.equal((await conversations.get(service, conversationId)).status, 'assigned', 'the first timer did not act');
    tick(500);
    await waitFor('the requeue', async () => (await conversations.get(service, conversationId)).status === 'queued');
    const { events } = await conversations.history(service, conversationId, { afterSeq: seq - 1 });
    const [message, requeued] = events;
    assert.deepEqual(requeued?.type === 'conversation.queued' ? [requeued.by.kind, requeued.data.reason] : [], ['system', 'agent_timeout']);
    assert.ok(Date.parse(requeued!.at) - Date.parse(message!.at) >= 500, 'not before the answer time after the last message');
  });

  test('with the bot, the visitor\'s silence runs from the bot\'s answer: its message moves the idle timer on', async () => {
    const { conversations, visitor, jobs, tick } = setUp({ visitorIdleMs: 500 }, { bot: true, clocked: true });
    const { conversationId, seq } = await conversations.start(visitor, { content: text('hello') });
    await waitFor('the bot answer', async () => (await conversations.history(service, conversationId, {})).events.some((e) => e.by.kind === 'bot'));
    const answer = (await conversations.get(service, conversationId)).seq;
    // The timer set at the visitor's message fires 500 ms later, by the test's clock at once: the answer left it the whole time.
    await waitFor('the timer set again', async () => (await jobs.find(`ct_${conversationId}_visitor_idle_${answer}`))?.view.state === 'delayed');
    assert.equal((await jobs.find(`ct_${conversationId}_visitor_idle_${seq}`))?.view.state, 'completed');
    assert.equal((await conversations.get(service, conversationId)).status, 'bot');
    tick(500);
    await waitFor('the abandon', async () => (await conversations.get(service, conversationId)).closeReason === 'abandoned');
  });

  test('a node decides on the state it knows; another node\'s appends since are found as a conflict or a refusal, and decided again on the stored state', async () => {
    const a = setUp();
    const b = setUp({}, { sharing: a.store });
    const { conversationId } = await a.conversations.start(a.visitor, {});
    await b.conversations.command(agentOf('a-1'), conversationId, { type: 'accept' });
    // Node a still knows it queued: an agent's message there is refused, so it reads the stored state and sends.
    const sent = await a.conversations.send(agentOf('a-1'), conversationId, { clientId: 'm-1', content: text('hello') });
    assert.deepEqual(sent, { seq: 4, duplicate: false });
    await b.conversations.command(agentOf('a-1'), conversationId, { type: 'close' });
    // Node a knows it assigned: a second accept would append on it, finds the conflict, and is refused on what is stored.
    await assert.rejects(a.conversations.command(agentOf('a-2'), conversationId, { type: 'accept' }), { code: 'INVALID_TRANSITION' });
    const view = await b.conversations.get(service, conversationId);
    assert.deepEqual([view.status, view.seq], ['closed', 5]);
  });

  test('the bot answers, and on "转人工" hands over with its findings and classification for the agents; the visitor sees the answer, not the findings', async () => {
    const { conversations, visitor } = setUp({}, { bot: true });
    const { conversationId } = await conversations.start(visitor, { content: text('where is my parcel') });
    await waitFor('the bot answer', async () => (await conversations.history(visitor, conversationId, {})).events.some((e) => e.by.kind === 'bot'));
    await conversations.send(visitor, conversationId, { clientId: 'm-2', content: text('转人工') });
    await waitFor('the handover', async () => (await conversations.get(service, conversationId)).status === 'queued');
    const staff = (await conversations.history(service, conversationId, {})).events;
    const queued = staff.find((e) => e.type === 'conversation.queued');
    const findings = { reason: 'visitor_asked', intent: 'handoff', summary: 'the visitor asked for a person' };
    assert.deepEqual([queued?.by, queued?.data], [{ kind: 'bot', id: 'builtin' }, { reason: 'handover', classification: { intent: 'orders', language: 'zh' }, findings }]);
    assert.deepEqual((await conversations.get(service, conversationId)).botFindings, findings);
    const seen = (await conversations.history(visitor, conversationId, {})).events;
    assert.ok(seen.every((e) => e.visibility === 'public'));
    assert.equal(seen.filter((e) => e.by.kind === 'bot').length, 1);
    assert.equal((await conversations.get(visitor, conversationId)).botFindings, undefined, 'a visitor is not shown what the bot found');
  });

  test('a visitor\'s messages are answered once each, in order, however many arrive at once; a repeat of one answers nothing more', async () => {
    const { conversations, visitor } = setUp({}, { bot: true });
    const { conversationId } = await conversations.start(visitor, {});
    const sent = await Promise.all(['one', 'two', 'three', 'four'].map((t, i) => conversations.send(visitor, conversationId, { clientId: `burst-${i}`, content: text(t) })));
    await conversations.send(visitor, conversationId, { clientId: 'burst-0', content: text('one') });
    const answered = async () => (await conversations.history(service, conversationId, {})).events.filter((e) => e.type === 'conversation.message_sent');
    const events = await waitFor('four answers', async () => { const all = await answered(); return all.filter((e) => e.by.kind === 'bot').length === 4 && all; });
    // Each visitor message is followed by the bot's answer to it before the next visitor message is answered.
    const bySeq = new Map(sent.map((s) => [s.seq, s]));
    const answers = events.filter((e) => e.by.kind === 'bot');
    assert.equal(answers.length, 4);
    assert.deepEqual(answers.map((e) => e.type === 'conversation.message_sent' && e.data.clientId), [...bySeq.keys()].sort((a, b) => a - b).map((seq) => {
      const message = events.find((e) => e.seq === seq);
      return message?.type === 'conversation.message_sent' && `bot-${message.data.messageId}-0`;
    }));
  });

  test('a command that loses every race to another writer gives up with CONVERSATION_BUSY, having appended nothing', async () => {
    const other: Actor = { kind: 'agent', id: 'on-another-node' };
    let isRacing = false;
    // Another node appends (a read receipt, with its own stale snapshot) just before each of this node's appends.
    const racing = (memory: ConversationStore<ConversationEvent>): ConversationStore<ConversationEvent> => ({
      ...memory,
      async append(input) {
        const head = await memory.head(input.conversationId);
        if (isRacing && head) {
          const receipt = { type: 'conversation.read', by: other, visibility: 'public', data: { participant: other, upToSeq: head.seq }, id: `r-${head.seq}`, at: new Date().toISOString() } as const;
          await memory.append({ conversationId: input.conversationId, expectedSeq: head.seq, events: [receipt], snapshot: head.snapshot });
        }
        return memory.append(input);
      },
    });
    const { conversations, visitor } = setUp({}, { store: racing });
    const { conversationId } = await conversations.start(visitor, {});
    isRacing = true;
    await assert.rejects(conversations.command(agentOf('a-1'), conversationId, { type: 'accept' }), { code: 'CONVERSATION_BUSY' });
    isRacing = false;
    const view = await conversations.get(service, conversationId);
    assert.deepEqual([view.status, view.seq, view.readUpTo['agent:on-another-node']], ['queued', 7, 6]);
  });
});
