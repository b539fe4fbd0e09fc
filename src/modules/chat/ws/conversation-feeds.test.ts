import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { waitFor } from '../../../../test/support/wait.ts';
import { createMemoryLeaseStore } from '../../../adapters/memory/memory-lease-store.ts';
import { createMemoryConversationStore } from '../../../adapters/memory/memory-conversation-store.ts';
import { createMemoryJobBackend } from '../../../adapters/memory/memory-job-backend.ts';
import type { ChatConfig } from '../../../config/chat-config.ts';
import type { AgentPrincipal, Principal, VisitorPrincipal } from '../../../kernel/principal.ts';
import type { FanoutMessage } from '../../../ports/chat-fanout.ts';
import { createJobQueues } from '../../jobs/job-queues.ts';
import { createMetrics } from '../../observability/metrics.ts';
import type { ConversationEvent } from '../conversation.types.ts';
import { createConversations } from '../conversations.service.ts';
import { createConversationFeeds } from './conversation-feeds.ts';
import { actorOf, type Session } from './ws.types.ts';

// The real conversations service over the memory store; the store's fan-out messages go to the
// feeds through `relay`, which a test may make drop some (a lost pub/sub message).
const log = pino({ level: 'silent' });
const backend = createMemoryJobBackend();
const jobs = createJobQueues({ backend, log, metrics: createMetrics(), attempts: 1, backoffMs: 1 });
after(async () => {
  await jobs.close(1_000);
  await backend.close();
});
const CONFIG: ChatConfig = { visitorIdleMs: 600_000, agentAnswerMs: 600_000, reopenWindowMs: 60_000, retentionMs: 1_000, maxOpenPerVisitor: 5, bot: 'none' };

function setUp() {
  let clock = Date.now();
  let drop = false;
  const relay = { publish: (m: FanoutMessage) => queueMicrotask(() => !drop && m.kind === 'event' && feeds.onEvent(m.conversationId, m.seq, m.json)) };
  const store = createMemoryConversationStore<ConversationEvent>({ nodeId: 'test', fanout: relay, now: () => clock });
  const conversations = createConversations({ store, jobs, locks: createMemoryLeaseStore(), config: CONFIG, log, now: () => clock });
  const feeds = createConversationFeeds({ conversations, log, historyPage: 2, pauseAtBytes: 1_000_000 });
  const visitor: VisitorPrincipal = { kind: 'visitor', name: 'visitor:v', visitorId: `v-${randomUUID()}`, site: 'shop', roles: [], expiresAt: Date.now() + 3_600_000 };
  const agent: AgentPrincipal = { kind: 'agent', name: 'agent:a-1', agentId: 'a-1', roles: ['agent'], expiresAt: Date.now() + 3_600_000 };
  return { conversations, feeds, visitor, agent, dropping: (on: boolean) => void (drop = on), tick: (ms: number) => (clock += ms) };
}

/** A socket's writing side that keeps what it was sent. */
function socket(principal: Principal, written?: string[]): Session & { frames: Record<string, unknown>[]; closedWith?: string } {
  const s: Session & { frames: Record<string, unknown>[]; closedWith?: string } = {
    id: randomUUID(), principal, ip: '127.0.0.1', actor: actorOf(principal), isOpen: true, frames: [], bufferedAmount: 0, drain: async () => {},
    send: (data) => void (s.frames.push(JSON.parse(String(data)) as Record<string, unknown>), written?.push(principal.name)),
    closeWith: (code) => void (s.closedWith = code),
  };
  return s;
}
const seqsOf = (s: ReturnType<typeof socket>) => s.frames.filter((f) => f.type === 'event').map((f) => (f.event as { seq: number }).seq);
const say = (text: string) => ({ clientId: randomUUID(), content: { contentType: 'text', text } as const });

test('subscribe sends subscribed, the history after afterSeq page by page, then live events, and no internal event to a visitor', async () => {
  const { conversations, feeds, visitor, agent } = setUp();
  const { conversationId } = await conversations.start(visitor, { content: say('hi').content }, 's-1');
  await conversations.command(agent, conversationId, { type: 'accept' });
  const note = await conversations.send(agent, conversationId, { ...say('vip'), visibility: 'internal' });
  await conversations.send(agent, conversationId, say('hello'));
  const v = socket(visitor);
  const a = socket(agent);
  await feeds.subscribe(v, conversationId, 0, 'sub-v');
  await feeds.subscribe(a, conversationId, 1, 'sub-a');
  assert.equal(v.frames[0]?.type, 'subscribed');
  const live = await conversations.send(visitor, conversationId, say('thanks'));
  await waitFor('the live event', () => seqsOf(a).includes(live.seq) && seqsOf(v).includes(live.seq));
  const head = live.seq;
  assert.deepEqual(seqsOf(a), Array.from({ length: head - 1 }, (_, i) => i + 2));
  assert.ok(!seqsOf(v).includes(note.seq));
  // Exactly what the visitor may see, in order: the service's own filter over the whole stream.
  const visible = (await conversations.history(visitor, conversationId, {})).events;
  assert.ok(visible.length < head && visible.every((e) => e.visibility === 'public'));
  assert.deepEqual(seqsOf(v), visible.map((e) => e.seq));
});

test('a live event goes to the other participants\' sockets before its author\'s own', async () => {
  const { conversations, feeds, visitor, agent } = setUp();
  const { conversationId } = await conversations.start(visitor, {}, 's-1');
  await conversations.command(agent, conversationId, { type: 'accept' });
  const written: string[] = [];
  const v = socket(visitor, written);
  const a = socket(agent, written);
  // The visitor subscribed first: it would come first if the order were the subscriptions'.
  await feeds.subscribe(v, conversationId, 2, 'sub-v');
  await feeds.subscribe(a, conversationId, 2, 'sub-a');
  written.length = 0;
  const fromVisitor = await conversations.send(visitor, conversationId, say('hello'));
  await waitFor('the visitor\'s message at both', () => seqsOf(v).includes(fromVisitor.seq) && seqsOf(a).includes(fromVisitor.seq));
  const fromAgent = await conversations.send(agent, conversationId, say('hi'));
  await waitFor('the agent\'s message at both', () => seqsOf(v).includes(fromAgent.seq) && seqsOf(a).includes(fromAgent.seq));
  assert.deepEqual(written, [agent.name, visitor.name, visitor.name, agent.name]);
});

test('a live event that jumps ahead makes the feed read the missed range first; a repeat is dropped', async () => {
  const { conversations, feeds, visitor, agent, dropping } = setUp();
  const { conversationId } = await conversations.start(visitor, {}, 's-1');
  const a = socket(agent);
  await feeds.subscribe(a, conversationId, 0, 'sub');
  dropping(true);
  for (let i = 0; i < 5; i++) await conversations.send(visitor, conversationId, say(`lost ${i}`));
  dropping(false);
  const last = await conversations.send(visitor, conversationId, say('arrives'));
  await waitFor('the last event', () => seqsOf(a).includes(last.seq));
  const events = await conversations.history(agent, conversationId, {});
  feeds.onEvent(conversationId, last.seq, JSON.stringify(events.events.at(-1)));
  assert.deepEqual(seqsOf(a), Array.from({ length: last.seq }, (_, i) => i + 1));
});

test('after the fan-out resubscribed every feed reads what it missed', async () => {
  const { conversations, feeds, visitor, agent, dropping } = setUp();
  const { conversationId } = await conversations.start(visitor, {}, 's-1');
  const a = socket(agent);
  await feeds.subscribe(a, conversationId, 0, 'sub');
  dropping(true);
  const missed = await conversations.send(visitor, conversationId, say('missed'));
  feeds.catchUpAll();
  await waitFor('the missed event', () => seqsOf(a).includes(missed.seq));
  assert.deepEqual(seqsOf(a), Array.from({ length: missed.seq }, (_, i) => i + 1));
});

test('a position older than what is kept gets refetch and the feed ends', async () => {
  const { conversations, feeds, visitor, agent, tick } = setUp();
  const { conversationId } = await conversations.start(visitor, {}, 's-1');
  await conversations.command(agent, conversationId, { type: 'accept' });
  await conversations.command(agent, conversationId, { type: 'close' });
  tick(CONFIG.retentionMs + 1);
  const a = socket(agent);
  await feeds.subscribe(a, conversationId, 0, 'sub');
  assert.deepEqual(a.frames.at(-1), { type: 'refetch', conversationId, code: 'HISTORY_EXPIRED' });
  assert.equal(feeds.isFollowing(a, conversationId), false);
});

test('a dropped socket stops following every conversation it followed; the others it shared them with carry on', async () => {
  const { conversations, feeds, visitor, agent } = setUp();
  const first = (await conversations.start(visitor, {}, 's-1')).conversationId;
  const second = (await conversations.start(visitor, {}, 's-2')).conversationId;
  const leaving = socket(agent);
  const staying = socket(agent);
  for (const id of [first, second]) {
    await feeds.subscribe(leaving, id, 0, `sub-${id}`);
    await feeds.subscribe(staying, id, 0, `sub-${id}`);
  }
  feeds.drop(leaving);
  assert.deepEqual([feeds.isFollowing(leaving, first), feeds.isFollowing(leaving, second)], [false, false]);
  assert.deepEqual(feeds.followers(first), [staying]);
  const before = leaving.frames.length;
  const last = await conversations.send(visitor, second, say('still there?'));
  await waitFor('the event at the socket that stayed', () => seqsOf(staying).includes(last.seq));
  assert.equal(leaving.frames.length, before);
});
