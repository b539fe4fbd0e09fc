import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { createRedis, type RedisHandle } from '../../src/adapters/redis/redis-client.ts';
import { createRedisConversationStore } from '../../src/adapters/redis/redis-conversation-store.ts';
import { cloudEvent, CONVERSATIONS_TOPIC } from '../../src/kernel/events.ts';
import type { ConversationEvent } from '../../src/modules/chat/conversation.types.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from '../support/ports.ts';
import { readSse } from '../support/sse.ts';
import { waitFor } from '../support/wait.ts';

// A conversation event appended through the store reaches Kafka by the gateway's outbox, on its
// own topic, and never the generic event stream.
const BUCKETS = 16;
let gw: TestGateway;
let redis: RedisHandle;
before(async () => {
  gw = await startTestGateway({ KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','), OMNIGATE_OUTBOX_BUCKETS: String(BUCKETS) });
  redis = createRedis(TEST_REDIS_URL, pino({ level: 'silent' }));
  await waitFor('Redis to be up', () => redis.isUp());
});
after(async () => {
  await redis.close();
  await gw.stop();
});

interface Received {
  key: string;
  partition: number;
  event: { id: string; type: string; subject: string; partitionkey: string; data: { conversationId: string; seq: number } };
}

describe('conversation events on Kafka', () => {
  test('each appended event reaches omnigate.conversations once, keyed and in order per conversation; the SSE stream of everything shows none', async () => {
    const store = createRedisConversationStore<ConversationEvent>({ client: redis.client, isUp: redis.isUp, nodeId: gw.events.nodeId, buckets: BUCKETS, outboxKey: gw.events.outbox.streamKey });
    const sse = readSse(await gw.api('/v1/events/stream'));
    const secret = `secret-text-${randomUUID()}`;
    const conversations = Array.from({ length: 8 }, () => `c-${randomUUID()}`);
    const appended = new Map<string, string[]>();
    // Interleaved appends of several conversations, one or two events each.
    for (let round = 0; round < 3; round += 1) {
      for (const id of conversations) {
        const seq = (appended.get(id) ?? []).length;
        const events = Array.from({ length: 1 + (round % 2) }, (_, i) => ({
          id: randomUUID(), type: 'conversation.message_sent' as const, at: new Date().toISOString(), by: { kind: 'visitor' as const, id: 'v-1' }, visibility: 'public' as const,
          data: { messageId: randomUUID(), author: { kind: 'visitor' as const, id: 'v-1' }, visibility: 'public' as const, contentType: 'text' as const, text: `${secret} ${round}.${i}` },
        }));
        const result = await store.append({ conversationId: id, expectedSeq: seq, events, snapshot: {} });
        assert.equal(result.outcome, 'appended');
        appended.set(id, [...(appended.get(id) ?? []), ...events.map((e) => e.id)]);
      }
    }
    const expected = [...appended.values()].flat();

    const consumer = new Kafka({ brokers: TEST_KAFKA_BROKERS, logLevel: logLevel.NOTHING }).consumer({ groupId: `conversation-test-${randomUUID()}` });
    const received: Received[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: CONVERSATIONS_TOPIC, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ partition, message }) => void received.push({ key: message.key?.toString() ?? '', partition, event: JSON.parse(message.value?.toString() ?? '{}') as Received['event'] }) });
      const mine = () => received.filter((r) => conversations.includes(r.event.subject));
      await waitFor('every conversation event on Kafka', () => mine().length >= expected.length, { timeoutMs: 30_000, detail: () => `${mine().length} of ${expected.length}` });

      // A marker on the generic topic, published after: once the SSE stream shows it, it would have shown the others.
      const marker = cloudEvent({ source: '/test', type: 'test.marker', partitionkey: 'marker', data: { marker: secret } });
      await gw.events.publish([marker]);
      await sse.next((m) => m.event === 'test.marker' && m.data.includes(marker.id), 30_000);

      const ours = mine();
      assert.deepEqual(ours.map((r) => r.event.id).sort(), [...expected].sort(), 'each event once');
      for (const id of conversations) {
        const of = ours.filter((r) => r.event.subject === id);
        assert.deepEqual(of.map((r) => r.event.id), appended.get(id), `in order for ${id}`);
        assert.deepEqual(of.map((r) => r.event.data.seq), of.map((_, i) => i + 1));
        assert.ok(of.every((r) => r.key === id && r.event.partitionkey === id && r.partition === of[0]?.partition), 'keyed by the conversation: one partition');
      }
      assert.ok(new Set(ours.map((r) => r.partition)).size > 1, 'the conversations spread over partitions');
      assert.ok(!sse.messages.some((m) => m.event?.startsWith('conversation.') || (m.data.includes(secret) && m.event !== 'test.marker')), 'no conversation event on the SSE stream');
    } finally {
      await consumer.disconnect();
      await sse.close();
    }
  });
});
