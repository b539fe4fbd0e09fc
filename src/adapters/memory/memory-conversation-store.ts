import { conversationCloudEvent, CONVERSATIONS_TOPIC } from '../../kernel/events.ts';
import type { FanoutMessage } from '../../ports/chat-fanout.ts';
import type { ConversationStore, StoredEventBase } from '../../ports/conversation-store.ts';
import type { StreamStore } from '../../ports/stream-store.ts';
import { byNewest, parseCursor, pageOf, type Ranked } from '../conversation-pages.ts';

export interface MemoryConversationStoreDeps {
  /** The node named as the CloudEvents' source. */
  readonly nodeId: string;
  /**
   * Where each event's CloudEvent is queued (fields `e` and `t`, as the outbox relays them), with
   * the key of a conversation's outbox stream (`outboxBucketOf` + `events.outbox.streamKey`).
   * Absent: nothing goes to the bus.
   */
  readonly outbox?: { readonly streams: Pick<StreamStore, 'append'>; keyOf(conversationId: string): string };
  /** Where appended events are published (a memory fan-out). */
  readonly fanout?: { publish(message: FanoutMessage): void };
  /** The clock expiries run by. */
  readonly now?: () => number;
}

interface Conversation {
  seq: number;
  snapshot: string;
  /** The kept events' JSON, the first of them numbered `firstSeq`. */
  events: string[];
  firstSeq: number;
  clients: Map<string, number>;
  /** When the stream (and its client ids) go; Infinity: kept. */
  expiresAt: number;
}

/**
 * Conversations within one process (the unit tier), with the Redis store's semantics: expected
 * seq, client-id dedupe, the outbox entries and the fan-out in the same step, index moves, and
 * retention that removes the events but keeps the head.
 */
export function createMemoryConversationStore<E extends StoredEventBase>(deps: MemoryConversationStoreDeps): ConversationStore<E> {
  const now = deps.now ?? Date.now;
  const conversations = new Map<string, Conversation>();
  const indexes = new Map<string, Map<string, number>>();

  /** The conversation, its stream dropped first if its retention ran out. */
  function live(conversationId: string): Conversation | undefined {
    const conversation = conversations.get(conversationId);
    if (conversation && conversation.expiresAt <= now()) {
      conversation.events = [];
      conversation.firstSeq = conversation.seq + 1;
      conversation.clients.clear();
      conversation.expiresAt = Infinity;
    }
    return conversation;
  }
  const indexOf = (name: string) => indexes.get(name) ?? indexes.set(name, new Map()).get(name)!;

  return {
    isUp: () => true,
    async append(input) {
      const found = live(input.conversationId);
      const seen = input.clientId === undefined ? undefined : found?.clients.get(input.clientId);
      if (seen !== undefined) return { outcome: 'duplicate', seq: seen };
      const head = found?.seq ?? 0;
      if (head !== input.expectedSeq) return { outcome: 'conflict', seq: head };
      if (input.events.length === 0) throw new Error('an append carries at least one event');

      const events = input.events.map((event, i) => ({ seq: head + i + 1, ...event }) as unknown as E);
      const jsons = events.map((event) => JSON.stringify(event));
      const conversation: Conversation = found ?? { seq: 0, snapshot: 'null', events: [], firstSeq: 1, clients: new Map(), expiresAt: Infinity };
      conversations.set(input.conversationId, conversation);
      // A stream removed by retention starts again at this append (a reopen): what came before stays gone.
      if (conversation.events.length === 0) conversation.firstSeq = head + 1;
      conversation.events.push(...jsons);
      conversation.seq = head + events.length;
      conversation.snapshot = JSON.stringify(input.snapshot ?? null);
      if (input.clientId !== undefined) conversation.clients.set(input.clientId, conversation.seq);
      conversation.expiresAt = input.expireAfterMs === undefined ? Infinity : now() + input.expireAfterMs;
      if (input.index) {
        for (const name of input.index.remove) indexes.get(name)?.delete(input.conversationId);
        for (const name of input.index.add) indexOf(name).set(input.conversationId, input.index.score);
      }
      // Before the first await: nothing can come between the append and its outbox entries.
      if (deps.outbox) {
        const stream = deps.outbox.keyOf(input.conversationId);
        const entries = events.map((event) => ({ stream, fields: { e: JSON.stringify(conversationCloudEvent(input.conversationId, event, deps.nodeId)), t: CONVERSATIONS_TOPIC } }));
        void deps.outbox.streams.append(entries);
      }
      events.forEach((event, i) => deps.fanout?.publish({ kind: 'event', conversationId: input.conversationId, seq: event.seq, json: jsons[i] as string }));
      return { outcome: 'appended', seq: conversation.seq, events };
    },
    async read(conversationId, range = {}) {
      const conversation = live(conversationId);
      if (!conversation) return [];
      const after = Math.max(range.afterSeq ?? 0, conversation.firstSeq - 1);
      const until = Math.min(range.untilSeq ?? Infinity, conversation.seq);
      const from = after - conversation.firstSeq + 1;
      const count = Math.max(0, Math.min(until - after, range.limit ?? Infinity));
      return conversation.events.slice(from, from + count).map((json) => JSON.parse(json) as E);
    },
    async head(conversationId) {
      const conversation = live(conversationId);
      if (!conversation) return undefined;
      return { seq: conversation.seq, snapshot: JSON.parse(conversation.snapshot) as unknown, hasStream: conversation.events.length > 0 };
    },
    async list(index, page) {
      const cursor = page.cursor === undefined ? undefined : parseCursor(page.cursor);
      const members: Ranked[] = [...(indexes.get(index) ?? [])].map(([id, score]) => ({ id, score }));
      return pageOf(members.filter((m) => !cursor || byNewest(m, cursor) > 0).sort(byNewest), page.limit);
    },
    count: async (index) => indexes.get(index)?.size ?? 0,
  };
}
