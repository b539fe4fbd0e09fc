import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import { waitFor } from '../../../test/support/wait.ts';
import { createMemoryBlobStore } from '../../adapters/memory/memory-blob-store.ts';
import { createMemoryConversationStore } from '../../adapters/memory/memory-conversation-store.ts';
import { createMemoryJobBackend } from '../../adapters/memory/memory-job-backend.ts';
import { createMemoryLeaseStore } from '../../adapters/memory/memory-lease-store.ts';
import type { ChatConfig } from '../../config/chat-config.ts';
import { AppError } from '../../kernel/errors.ts';
import { ATTR_CONVERSATION_ID, ATTR_MESSAGE_SEQ } from '../../kernel/telemetry.ts';
import type { VisitorPrincipal } from '../../kernel/principal.ts';
import type { ConversationEvent } from '../chat/conversation.types.ts';
import { createConversations, type Conversations } from '../chat/conversations.service.ts';
import { createJobQueues } from '../jobs/job-queues.ts';
import { createMetrics } from '../observability/metrics.ts';
import { botJobId, createBotRunner } from './bot-jobs.ts';
import type { Bot } from './bot.types.ts';

// A real tracer provider whose finished spans stay in memory, with the gateway's propagator and
// context manager: the bot's job runs on the real job queues (memory backend) and conversations.
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(provider);

const CONFIG: ChatConfig = { visitorIdleMs: 600_000, agentAnswerMs: 600_000, reopenWindowMs: 60_000, retentionMs: 60_000, maxOpenPerVisitor: 5, bot: 'builtin' };
const MESSAGE_TRACE = '0af7651916cd43dd8448eb211c80319c';
const MESSAGE_SPAN = 'b7ad6b7169203331';
const log = pino({ level: 'silent' });
const jobs = createJobQueues({ backend: createMemoryJobBackend(), log, metrics: createMetrics(), attempts: 3, backoffMs: 1 });
after(() => jobs.close(1_000));

test("the bot's reply span is a child of its job's span, which continues the message's trace", async () => {
  const bot: Bot = { name: 'builtin', async reply() { return { kind: 'answer', messages: [{ contentType: 'text', text: 'hello' }] }; } };
  const runner = createBotRunner({
    jobs, bot, conversations: () => conversations.forBot!, leases: createMemoryLeaseStore(), progress: createMemoryBlobStore(), log,
    query: { call: async (capability) => { throw new AppError('UNKNOWN_CAPABILITY', `no ${capability} here`); } }, lockMs: 1_000, attempts: 20, backoffMs: 1, keepMs: 60_000,
    // The message was stored under this span (the visitor's `ws message.send` frame, say).
    traceparent: () => `00-${MESSAGE_TRACE}-${MESSAGE_SPAN}-01`,
  });
  const conversations: Conversations = createConversations({ store: createMemoryConversationStore<ConversationEvent>({ nodeId: 'test' }), jobs, locks: createMemoryLeaseStore(), config: CONFIG, log, bot: runner });
  jobs.start();
  const visitor: VisitorPrincipal = { kind: 'visitor', name: 'visitor:v-1', visitorId: 'v-1', site: 'shop', roles: [], expiresAt: Date.now() + 3_600_000 };
  const { conversationId } = await conversations.start(visitor, {});
  const { seq } = await conversations.send(visitor, conversationId, { clientId: 'm-1', content: { contentType: 'text', text: 'hi' } });
  await waitFor('the job done', async () => (await jobs.find(botJobId(conversationId, seq)))?.view.state === 'completed');
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  const job = spans.find((s) => s.name === 'job bot.reply');
  const reply = spans.find((s) => s.name === 'bot.reply');
  assert.ok(job, `no job span among ${spans.map((s) => s.name).join(', ')}`);
  assert.ok(reply, `no bot.reply span among ${spans.map((s) => s.name).join(', ')}`);
  assert.equal(job.parentSpanContext?.spanId, MESSAGE_SPAN, "the job's span continues the message's trace");
  assert.equal(reply.spanContext().traceId, MESSAGE_TRACE);
  assert.equal(reply.parentSpanContext?.spanId, job.spanContext().spanId, 'bot.reply hangs under the job span, not re-parented on the message');
  assert.equal(reply.attributes[ATTR_CONVERSATION_ID], conversationId);
  assert.equal(reply.attributes[ATTR_MESSAGE_SEQ], seq);
});
