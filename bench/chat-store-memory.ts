// Redis memory of the conversation store per 1,000 conversations, in one run on its own Redis:
//  1. open: ~20 events each (created, queued, assigned, 15 messages, delivered, read), through
//     the store's append script, with their head, snapshot, client ids and list indexes;
//  2. closed after retention: the same conversations closed with a retention, then removed by it
//     (only the head, its snapshot and the indexes stay).
// Baselines in the same run: the same event JSON as plain strings in one Redis hash per
// conversation (HSET seq → JSON), and the raw bytes of that JSON; for closed ones, the snapshot
// JSON as one string key per conversation.
// Usage: node bench/chat-store-memory.ts [--conversations=5000] [--stream-node-max-bytes=4096]   (~20 s; Redis on 25485, stopped at the end)
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedis } from '../scripts/lib/redis.ts';
import { createRedisConversationStore } from '../src/adapters/redis/redis-conversation-store.ts';
import type { ConversationEvent } from '../src/modules/chat/conversation.types.ts';
import { bucketKey } from '../src/modules/events/outbox-buckets.ts';
import type { UnnumberedEvent } from '../src/ports/conversation-store.ts';
import { args } from './lib/args.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const count = args.int('conversations', 5_000);
/** Redis's `stream-node-max-bytes` (default 4096): a stream's last node is allocated at this size. */
const nodeBytes = args.int('stream-node-max-bytes', 4_096);
const BUCKETS = 16;
const PORT = 25485;
const dir = join(root, '.data', `bench-chat-store-${process.pid}`);

const server = await startRedis({ port: PORT, dir, role: 'durable', maxmemory: '2gb' });
const client = new Redis(PORT, '127.0.0.1');
await client.config('SET', 'stream-node-max-bytes', String(nodeBytes));
const stop = async () => {
  client.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
};
process.once('SIGINT', () => void stop().then(() => process.exit(130)));

const usedMemory = async () => Number(/^used_memory:(\d+)/m.exec(await client.info('memory'))?.[1]);
/** used_memory after everything since `before` was written, per 1,000 conversations. */
const per1000 = (bytes: number) => Math.round((bytes / count) * 1_000);
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

const visitor = { kind: 'visitor' as const, id: 'v-1' };
const agent = { kind: 'agent' as const, id: 'agent-17' };
const lines = ['Hi, my order ORD-0001234 has not arrived yet, can you check where it is?', 'Let me look that up for you, one moment please.', 'It left the warehouse yesterday and should be with you on Thursday.', 'Great, thanks! Can I still change the delivery address?', 'Yes, I have updated it to the new address you gave in your profile.'];
const at = () => new Date().toISOString();
const base = (type: ConversationEvent['type'], by: ConversationEvent['by']) => ({ id: randomUUID(), type, at: at(), by, visibility: 'public' as const });
/** ~20 events of a conversation that is open and assigned. */
function openEvents(n: number): UnnumberedEvent<ConversationEvent>[] {
  const messages = Array.from({ length: 15 }, (_, i) => {
    const author = i % 2 === 0 ? visitor : agent;
    return { ...base('conversation.message_sent', author), data: { messageId: randomUUID(), clientId: randomUUID(), author, visibility: 'public' as const, contentType: 'text' as const, text: `${lines[i % lines.length]} (${n}.${i})` } };
  });
  return [
    { ...base('conversation.created', visitor), data: { visitor: { id: `v-${n}`, site: 'shop-eu', customerId: `C-${n}` }, group: 'billing', language: 'en', subject: 'Where is my order?' } },
    { ...base('conversation.queued', { kind: 'system', id: 'router' }), data: { reason: 'no_bot', group: 'billing' } },
    { ...base('conversation.assigned', agent), data: { agentId: agent.id } },
    ...messages,
    { ...base('conversation.delivered', visitor), data: { participant: visitor, upToSeq: 18 } },
    { ...base('conversation.read', agent), data: { participant: agent, upToSeq: 18 } },
  ] as UnnumberedEvent<ConversationEvent>[];
}
const snapshotOf = (n: number, status: string) => ({ status, visitor: { id: `v-${n}`, site: 'shop-eu', customerId: `C-${n}` }, group: 'billing', language: 'en', subject: 'Where is my order?', agentId: agent.id, openedAt: at(), updatedAt: at(), lastMessageAt: at(), readUpTo: { visitor: 18, [agent.id]: 18 }, messages: 15 });
const indexes = (n: number) => ['state:assigned', `agent:${agent.id}`, 'group:billing', `customer:C-${n}`, `visitor:v-${n}`];

const store = createRedisConversationStore<ConversationEvent>({ client, isUp: () => true, nodeId: 'bench', buckets: BUCKETS, outboxKey: (b) => bucketKey(b) });
const ids = Array.from({ length: count }, (_, n) => `c-${n}-${randomUUID().slice(0, 8)}`);
const eventsOf = ids.map((_, n) => openEvents(n));
/** The outbox entries are relayed and deleted in production: gone before a measurement. */
const drainOutbox = () => client.del(...Array.from({ length: BUCKETS }, (_, b) => bucketKey(b)));

/** MEMORY USAGE of every key, summed by kind (events, head, clients, idx), per 1,000 conversations. */
async function breakdown(): Promise<Record<string, number>> {
  const sums: Record<string, number> = {};
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', 'omnigate:conv:*', 'COUNT', 1_000);
    cursor = next;
    const sizes = await Promise.all(keys.map((key) => client.memory('USAGE', key, 'SAMPLES', 0)));
    keys.forEach((key, i) => {
      const kind = key.includes(':idx:') ? 'indexes' : (key.split(':').at(-1) as string);
      sums[kind] = (sums[kind] ?? 0) + Number(sizes[i] ?? 0);
    });
  } while (cursor !== '0');
  return Object.fromEntries(Object.entries(sums).map(([kind, bytes]) => [kind, per1000(bytes)]));
}

async function inBatches(work: (n: number) => Promise<unknown>): Promise<void> {
  for (let from = 0; from < count; from += 200) await Promise.all(Array.from({ length: Math.min(200, count - from) }, (_, i) => work(from + i)));
}

// 1. The baseline of open conversations: the event JSON in a hash per conversation; and its raw bytes.
await client.flushall();
let before = await usedMemory();
let rawBytes = 0;
await inBatches(async (n) => {
  const jsons = (eventsOf[n] ?? []).map((event, i) => JSON.stringify({ seq: i + 1, ...event }));
  rawBytes += jsons.reduce((sum, j) => sum + Buffer.byteLength(j), 0);
  await client.hset(`baseline:${ids[n]}`, ...jsons.flatMap((json, i) => [String(i + 1), json]));
});
const hashOpen = (await usedMemory()) - before;

// 2. Open conversations in the store: one append per event, as a chat has them (client ids on messages).
await client.flushall();
before = await usedMemory();
await inBatches(async (n) => {
  const id = ids[n] as string;
  for (const [i, event] of (eventsOf[n] ?? []).entries()) {
    const clientId = event.type === 'conversation.message_sent' ? event.data.clientId : undefined;
    await store.append({ conversationId: id, expectedSeq: i, events: [event], snapshot: snapshotOf(n, 'assigned'), index: { add: i === 0 ? indexes(n) : [], remove: [], score: Date.now() }, ...(clientId ? { clientId } : {}) });
  }
});
await drainOutbox();
const storeOpen = (await usedMemory()) - before;
const openKeys = await breakdown();
const eventCount = eventsOf.reduce((sum, e) => sum + e.length, 0);

// 3. Closed and past retention: the streams and client ids are gone, head + snapshot + indexes stay.
await inBatches(async (n) => {
  const id = ids[n] as string;
  const closed = { ...base('conversation.closed', agent), data: { reason: 'resolved' as const } } as UnnumberedEvent<ConversationEvent>;
  await store.append({ conversationId: id, expectedSeq: eventsOf[n]?.length ?? 0, events: [closed], snapshot: snapshotOf(n, 'closed'), index: { add: ['state:closed'], remove: ['state:assigned'], score: Date.now() }, expireAfterMs: 1 });
});
await drainOutbox();
// Every stream touched once after its retention, so Redis drops it now rather than by its sampling.
for (;;) {
  const left = (await Promise.all(ids.map((id) => store.head(id)))).filter((h) => h?.hasStream).length;
  if (left === 0) break;
}
const storeClosed = (await usedMemory()) - before;
const closedKeys = await breakdown();

// 4. The baseline of closed conversations: the snapshot JSON as one string per conversation.
await client.flushall();
before = await usedMemory();
let snapshotBytes = 0;
await inBatches(async (n) => {
  const json = JSON.stringify(snapshotOf(n, 'closed'));
  snapshotBytes += Buffer.byteLength(json);
  await client.set(`baseline:${ids[n]}`, json);
});
const stringClosed = (await usedMemory()) - before;

const results = {
  conversations: count,
  streamNodeMaxBytes: nodeBytes,
  eventsPerConversation: eventCount / count,
  per1000: {
    open: { store: per1000(storeOpen), hashOfJson: per1000(hashOpen), rawJson: per1000(rawBytes) },
    closed: { store: per1000(storeClosed), stringOfSnapshot: per1000(stringClosed), rawSnapshot: per1000(snapshotBytes) },
  },
  /** MEMORY USAGE by key kind, per 1,000 conversations (an estimate; used_memory is the measure). */
  keys: { open: openKeys, closed: closedKeys },
  ratios: {
    openStoreToHash: Math.round((storeOpen / hashOpen) * 100) / 100,
    openStoreToRaw: Math.round((storeOpen / rawBytes) * 100) / 100,
    closedStoreToString: Math.round((storeClosed / stringClosed) * 100) / 100,
    closedToOpen: Math.round((storeClosed / storeOpen) * 1000) / 1000,
  },
};
const { open, closed } = results.per1000;
console.log(`${count} conversations, ${results.eventsPerConversation} events each; Redis used_memory per 1,000 conversations:`);
console.log(`  open    store ${kib(open.store)}   hash of the same JSON ${kib(open.hashOfJson)}   raw JSON ${kib(open.rawJson)}   store/hash ${results.ratios.openStoreToHash}×   store/raw ${results.ratios.openStoreToRaw}×`);
console.log(`  closed  store ${kib(closed.store)}   snapshot as a string ${kib(closed.stringOfSnapshot)}   raw snapshot ${kib(closed.rawSnapshot)}   store/string ${results.ratios.closedStoreToString}×   closed/open ${results.ratios.closedToOpen}`);
const parts = (k: Record<string, number>) => Object.entries(k).map(([kind, bytes]) => `${kind} ${kib(bytes)}`).join(', ');
console.log(`  by key (MEMORY USAGE)  open: ${parts(openKeys)}\n                        closed: ${parts(closedKeys)}`);
writeFileSync(join(root, '.data', 'bench-chat-store-memory.json'), `${JSON.stringify(results, null, 2)}\n`);
await stop();
