import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { CONVERSATIONS_TOPIC } from '../../src/kernel/events.ts';
import { bucketKey, outboxBucketOf } from '../../src/modules/events/outbox-buckets.ts';
import { chatNodeEnv, readConversation, resumingClient, type ResumingClient } from '../support/chat-nodes.ts';
import { agentSocket, visitorSession, visitorSocket } from '../support/chat-principals.ts';
import { gatewayProcesses, type GatewayProcess } from '../support/gateway-process.ts';
import { freePort, TEST_KAFKA_BROKERS, TEST_REDIS_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

// The Kafka copy of a conversation survives its node: node A cannot reach Kafka at all, so what
// sits in the outbox buckets it leases can only get out through node B, after A is SIGKILLed
// right after an append and its leases lapse.
const BUCKETS = 16;
const LEASE_MS = 1_000;
const nodes = gatewayProcesses();
let a: GatewayProcess;
let b: GatewayProcess;
let redis: Redis;

before(async () => {
  const nowhere = `127.0.0.1:${await freePort()}`;
  const shared = { OMNIGATE_OUTBOX_BUCKETS: String(BUCKETS), OMNIGATE_OUTBOX_LEASE_MS: String(LEASE_MS) };
  [a, b] = await Promise.all([
    nodes.start({ name: 'a-no-kafka', env: chatNodeEnv({ ...shared, KAFKA_BROKERS: nowhere }) }),
    nodes.start({ name: 'b', env: chatNodeEnv(shared) }),
  ]);
  redis = new Redis(TEST_REDIS_URL);
});
after(() => redis?.disconnect());

interface OnKafka {
  readonly key: string;
  readonly partition: number;
  readonly event: { id: string; type: string; subject: string; data: { conversationId: string; seq: number } };
}

/** Whether node A holds the outbox lease of the bucket a conversation's events are queued in. */
const heldByA = async (conversationId: string): Promise<boolean> =>
  ((await redis.get(`${bucketKey(outboxBucketOf(conversationId, BUCKETS))}:lease`)) ?? '').startsWith(`${a.nodeId}#`);

describe('the Kafka copy of the conversations', () => {
  test('an independent consumer of omnigate.conversations sees every event of several conversations once, in order per conversation, keyed by it, also those a SIGKILLed node appended last', async (t) => {
    const consumer: Consumer = new Kafka({ brokers: TEST_KAFKA_BROKERS, logLevel: logLevel.NOTHING }).consumer({ groupId: `chat-kafka-${randomUUID()}` });
    const received: OnKafka[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: CONVERSATIONS_TOPIC, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ partition, message }) => void received.push({ key: message.key?.toString() ?? '', partition, event: JSON.parse(message.value?.toString() ?? '{}') as OnKafka['event'] }) });

      // Visitors on A (no Kafka), their agent on B; until one conversation's bucket is A's, so A's death matters.
      const agentId = `agent-${randomUUID()}`;
      const agent = await resumingClient({ urls: [b.url], connect: (node) => agentSocket(node, agentId) });
      const talks: { conversationId: string; visitor: ResumingClient }[] = [];
      while (talks.length < 4 || !(await Promise.all(talks.map((talk) => heldByA(talk.conversationId)))).some(Boolean)) {
        assert.ok(talks.length < 12, 'some conversation lands in a bucket node A leases');
        const { token } = await visitorSession(a);
        const visitor = await resumingClient({ urls: [a.url], connect: (node) => visitorSocket(node, token) });
        const conversationId = (await visitor.request({ type: 'conversation.start', subject: `kafka ${talks.length}` })).conversationId as string;
        await agent.request({ type: 'command', conversationId, command: 'accept' });
        talks.push({ conversationId, visitor });
      }
      for (let round = 0; round < 3; round += 1) {
        for (const { conversationId, visitor } of talks) {
          await visitor.request({ type: 'message.send', conversationId, contentType: 'text', text: `question ${round}` });
          await agent.request({ type: 'message.send', conversationId, contentType: 'text', text: `answer ${round}` });
        }
      }
      // The last word of each visitor through A, acked, then A dies at once.
      await Promise.all(talks.map(({ conversationId, visitor }) => visitor.request({ type: 'message.send', conversationId, contentType: 'text', text: 'last words' })));
      const inABuckets = (await Promise.all(talks.map((talk) => heldByA(talk.conversationId)))).filter(Boolean).length;
      assert.ok(inABuckets > 0, 'events wait in buckets node A leases');
      await a.kill();
      const onKafkaAtKill = received.filter((r) => talks.some((talk) => talk.conversationId === r.event.subject)).length;
      for (const { visitor } of talks) await visitor.close();
      // And the conversations go on through B.
      for (const { conversationId } of talks) await agent.request({ type: 'command', conversationId, command: 'close' });
      await agent.close();

      const expected = new Map<string, string[]>();
      for (const { conversationId } of talks) expected.set(conversationId, (await readConversation(b, conversationId)).map((e) => e.id));
      const total = [...expected.values()].reduce((n, ids) => n + ids.length, 0);
      const mine = () => received.filter((r) => expected.has(r.event.subject));
      t.diagnostic(`${onKafkaAtKill} of the ${total - talks.length} events appended before node A died were on Kafka then; ${inABuckets} of ${talks.length} conversations in buckets A had leased`);
      await waitFor('every event of the conversations on Kafka', () => mine().length >= total, { timeoutMs: 30_000, detail: () => `${mine().length} of ${total}` });

      for (const [conversationId, ids] of expected) {
        const of = mine().filter((r) => r.event.subject === conversationId);
        assert.deepEqual(of.map((r) => r.event.id), ids, `${conversationId}: each event once, in order`);
        assert.deepEqual(of.map((r) => r.event.data.seq), ids.map((_, i) => i + 1));
        assert.ok(of.every((r) => r.key === conversationId && r.partition === of[0]?.partition), `${conversationId}: keyed by the conversation, one partition`);
      }
    } finally {
      await consumer.disconnect();
    }
  });
});
