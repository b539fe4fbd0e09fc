import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { waitFor } from '../../../test/support/wait.ts';
import { createMemoryBlobStore } from '../../adapters/memory/memory-blob-store.ts';
import { createMemoryConversationStore } from '../../adapters/memory/memory-conversation-store.ts';
import { createMemoryJobBackend } from '../../adapters/memory/memory-job-backend.ts';
import { createMemoryLeaseStore } from '../../adapters/memory/memory-lease-store.ts';
import type { ChatConfig } from '../../config/chat-config.ts';
import { AppError } from '../../kernel/errors.ts';
import type { ServicePrincipal, VisitorPrincipal } from '../../kernel/principal.ts';
import type { JobBackend } from '../../ports/job-queue.ts';
import type { ConversationEvent } from '../chat/conversation.types.ts';
import { createConversations, type Conversations } from '../chat/conversations.service.ts';
import { createJobQueues, type JobQueues } from '../jobs/job-queues.ts';
import { createMetrics } from '../observability/metrics.ts';
import { botJobId, createBotRunner } from './bot-jobs.ts';
import type { Bot, BotInput } from './bot.types.ts';

// The bot runner over the real conversations service and job queues, on the memory adapters.
const CONFIG: ChatConfig = { visitorIdleMs: 600_000, agentAnswerMs: 600_000, reopenWindowMs: 60_000, retentionMs: 60_000, maxOpenPerVisitor: 5, bot: 'builtin' };
const service: ServicePrincipal = { kind: 'service', name: 'crm', roles: ['api'] };
const text = (t: string) => ({ contentType: 'text', text: t }) as const;
const opened: JobQueues[] = [];
after(async () => Promise.all(opened.map((jobs) => jobs.close(1_000))));
let n = 0;

function setUp(bot: Bot, options: { start?: boolean; backend?: JobBackend } = {}) {
  const jobs = createJobQueues({ backend: options.backend ?? createMemoryJobBackend(), log: pino({ level: 'silent' }), metrics: createMetrics(), attempts: 3, backoffMs: 1 });
  opened.push(jobs);
  const runner = createBotRunner({
    jobs, bot, conversations: () => conversations.forBot!, leases: createMemoryLeaseStore(), progress: createMemoryBlobStore(), log: pino({ level: 'silent' }),
    query: { call: async (capability) => { throw new AppError('UNKNOWN_CAPABILITY', `no ${capability} here`); } }, lockMs: 1_000, attempts: 20, backoffMs: 1, keepMs: 60_000,
  });
  const conversations: Conversations = createConversations({ store: createMemoryConversationStore<ConversationEvent>({ nodeId: 'test' }), jobs, locks: createMemoryLeaseStore(), config: CONFIG, log: pino({ level: 'silent' }), bot: runner });
  if (options.start !== false) jobs.start();
  n += 1;
  const visitor: VisitorPrincipal = { kind: 'visitor', name: `visitor:v-${n}`, visitorId: `v-${n}`, site: 'shop', roles: [], expiresAt: Date.now() + 3_600_000 };
  const events = async (id: string) => (await conversations.history(service, id, {})).events;
  return { conversations, jobs, visitor, events };
}

/** A few turns of the event loop: long enough for other jobs to run meanwhile. */
const yieldTurns = async (turns: number) => { for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r)); };
const textOf = (input: BotInput) => (input.message.data.contentType === 'text' ? input.message.data.text : '');

describe('the bot runner', () => {
  test('one conversation\'s messages are answered one at a time and in order, each once, even when their jobs run at once', async () => {
    const asked: string[] = [];
    let inFlight = 0;
    let most = 0;
    const slow: Bot = {
      name: 'builtin',
      async reply(input) {
        asked.push(textOf(input));
        most = Math.max(most, ++inFlight);
        await yieldTurns(textOf(input) === 'one' ? 50 : 5);
        inFlight -= 1;
        return { kind: 'answer', messages: [text(`re: ${textOf(input)}`)] };
      },
    };
    const { conversations, visitor, events } = setUp(slow);
    const { conversationId } = await conversations.start(visitor, {});
    await Promise.all(['one', 'two', 'three', 'four'].map((t) => conversations.send(visitor, conversationId, { clientId: `m-${t}`, content: text(t) })));
    const all = await waitFor('four answers', async () => { const got = await events(conversationId); return got.filter((e) => e.by.kind === 'bot').length === 4 && got; });
    assert.equal(most, 1, 'never two answers of one conversation at once');
    const said = all.flatMap((e) => (e.type === 'conversation.message_sent' && e.data.contentType === 'text' ? [e.data.text] : []));
    const visitorOrder = said.filter((t) => !t.startsWith('re: '));
    assert.deepEqual(asked, visitorOrder, 'the bot is asked once per message, in the order they were stored');
    assert.deepEqual(said.filter((t) => t.startsWith('re: ')), visitorOrder.map((t) => `re: ${t}`), 'answers appended in the same order');
  });

  test('a job for a conversation that left state bot meanwhile does nothing', async () => {
    let asked = 0;
    const bot: Bot = { name: 'builtin', async reply() { asked += 1; return { kind: 'answer', messages: [text('hello')] }; } };
    const { conversations, jobs, visitor, events } = setUp(bot, { start: false });
    const { conversationId } = await conversations.start(visitor, {});
    const { seq } = await conversations.send(visitor, conversationId, { clientId: 'm-1', content: text('hi') });
    await conversations.command(visitor, conversationId, { type: 'handover' });
    jobs.start();
    await waitFor('the job done', async () => (await jobs.find(botJobId(conversationId, seq)))?.view.state === 'completed');
    assert.equal(asked, 0);
    assert.equal((await events(conversationId)).filter((e) => e.by.kind === 'bot').length, 0);
  });

  test('a retryable failure is tried again by the job: the answer comes once', async () => {
    let calls = 0;
    const flaky: Bot = {
      name: 'builtin',
      async reply() {
        calls += 1;
        if (calls === 1) throw new AppError('STORE_UNAVAILABLE', 'Redis went away for a moment');
        return { kind: 'answer', messages: [text('here you are'), text('anything else?')] };
      },
    };
    const { conversations, jobs, visitor, events } = setUp(flaky);
    const { conversationId } = await conversations.start(visitor, {});
    const { seq } = await conversations.send(visitor, conversationId, { clientId: 'm-1', content: text('hi') });
    const job = await waitFor('the job done', async () => { const found = await jobs.find(botJobId(conversationId, seq)); return found?.view.state === 'completed' && found.view; });
    assert.equal(job.attempts, 2);
    const bots = (await events(conversationId)).filter((e) => e.by.kind === 'bot');
    assert.deepEqual(bots.map((e) => e.type === 'conversation.message_sent' && [e.visibility, e.data.contentType === 'text' && e.data.text]), [['public', 'here you are'], ['public', 'anything else?']]);
  });

  test('a bot that fails for good hands over (bot_failed), saying so in the conversation\'s language', async () => {
    const broken: Bot = { name: 'builtin', async reply() { throw new TypeError('a bug'); } };
    const { conversations, visitor, events } = setUp(broken);
    const { conversationId } = await conversations.start(visitor, { language: 'zh-CN', content: text('你好') });
    await waitFor('the handover', async () => (await conversations.get(service, conversationId)).status === 'queued');
    const all = await events(conversationId);
    const said = all.find((e) => e.type === 'conversation.message_sent' && e.by.kind === 'bot');
    assert.ok(said?.type === 'conversation.message_sent' && said.visibility === 'public' && said.data.contentType === 'text' && said.data.text.includes('人工'));
    const queued = all.find((e) => e.type === 'conversation.queued');
    assert.deepEqual(queued?.type === 'conversation.queued' && queued.data.findings, { reason: 'bot_failed', summary: 'the bot failed: INTERNAL' });
  });

  test('a message stored while its job could not be queued is answered once the visitor sends it again (same client id)', async () => {
    let isUp = true;
    const memory = createMemoryJobBackend();
    // The job store (Redis) away for a moment: the message is stored, its job is not, and the send fails.
    const flaky: JobBackend = { ...memory, isUp: () => isUp };
    const bot: Bot = { name: 'builtin', async reply(input) { return { kind: 'answer', messages: [text(`re: ${textOf(input)}`)] }; } };
    const { conversations, visitor, events } = setUp(bot, { backend: flaky });
    const { conversationId } = await conversations.start(visitor, {});
    isUp = false;
    await assert.rejects(conversations.send(visitor, conversationId, { clientId: 'm-1', content: text('hello?') }), { code: 'STORE_UNAVAILABLE' });
    isUp = true;
    const again = await conversations.send(visitor, conversationId, { clientId: 'm-1', content: text('hello?') });
    assert.equal(again.duplicate, true);
    await waitFor('the answer', async () => (await events(conversationId)).some((e) => e.by.kind === 'bot'));
    const said = (await events(conversationId)).flatMap((e) => (e.type === 'conversation.message_sent' && e.data.contentType === 'text' ? [e.data.text] : []));
    assert.deepEqual(said, ['hello?', 're: hello?']);
  });
});
