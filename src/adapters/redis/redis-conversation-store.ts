import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Cluster, type Redis } from 'ioredis';
import { AppError } from '../../kernel/errors.ts';
import { conversationCloudEvent, CONVERSATIONS_TOPIC } from '../../kernel/events.ts';
import { bucketTag, outboxBucketOf } from '../../modules/events/outbox-buckets.ts';
import type { AppendResult, ConversationStore, StoredEventBase } from '../../ports/conversation-store.ts';
import { byNewest, pageOf, parseCursor, type Ranked } from '../conversation-pages.ts';
import { eventMessage, FANOUT_EVENTS_CHANNEL } from './redis-chat-fanout.ts';
import { OUTBOX_BELL_CHANNEL } from './redis-outbox-bell.ts';

export interface RedisConversationStoreDeps {
  /** A standalone Redis or a Redis Cluster: every command of one conversation goes to one slot. */
  readonly client: Redis | Cluster;
  readonly isUp: () => boolean;
  /** The node named as the CloudEvents' source. */
  readonly nodeId: string;
  /** The outbox bucket count (`OMNIGATE_OUTBOX_BUCKETS`, the same on every node). */
  readonly buckets: number;
  /**
   * The outbox stream of a bucket, as the relay reads it (`events.outbox.streamKey`). It carries
   * the bucket's hash tag, as the conversation's keys do, so the append writes both in one script,
   * and rings the outbox bell (`OUTBOX_BELL_CHANNEL`) with it for the node that relays the bucket.
   */
  readonly outboxKey: (bucket: number) => string;
  /** Replicas that must have an append before it resolves (`WAIT`); 0 or absent: none. */
  readonly waitReplicas?: number;
  readonly waitTimeoutMs?: number;
  /**
   * Told of each append this node made, once it is durable (after `WAIT`) and before `append`
   * resolves, with each event's seq and stored JSON: the gateway hands them to its own sockets
   * here (RedisChatFanout.deliverAppended) instead of waiting for the script's PUBLISH to come
   * back through Redis. Must not throw.
   */
  readonly onAppended?: (conversationId: string, events: readonly { readonly seq: number; readonly json: string }[]) => void;
}

/**
 * The keys of one conversation, all under its outbox bucket's hash tag `{ob-N}`:
 * `omnigate:conv:{ob-N}:<id>:events` (stream, entry ids `0-<seq>`, field `e` the event JSON),
 * `…:head` (hash: `seq`, `snapshot`), `…:clients` (hash: client id → seq it ended at), and the
 * bucket's indexes `omnigate:conv:{ob-N}:idx:<index>` (sorted sets, member the conversation id).
 */
export function conversationKeys(conversationId: string, buckets: number) {
  const bucket = outboxBucketOf(conversationId, buckets);
  const base = `omnigate:conv:${bucketTag(bucket)}:${conversationId}`;
  return { bucket, events: `${base}:events`, head: `${base}:head`, clients: `${base}:clients` };
}
const indexKey = (bucket: number, index: string) => `omnigate:conv:${bucketTag(bucket)}:idx:${index}`;

type RawEntry = [string, string[]];

/**
 * Conversations in Redis (standalone or Cluster): one Lua script per append (conversation-append.lua)
 * checks the client id and the expected seq, writes the events, their outbox entries, the head
 * and snapshot, the index moves and the expiry, and publishes the events to the chat fan-out.
 * Durable means: in Redis's append-only file as its `appendfsync` says (`always`: on disk before
 * the reply; `everysec`: a host crash may lose the last second), and with `waitReplicas`, also on
 * that many replicas (`WAIT`), else the append rejects with STORE_UNAVAILABLE (retry with the same
 * client id: it answers `duplicate` once the first append is there).
 */
export function createRedisConversationStore<E extends StoredEventBase>(deps: RedisConversationStoreDeps): ConversationStore<E> {
  const { client, buckets } = deps;
  const script = readFileSync(new URL('./conversation-append.lua', import.meta.url), 'utf8');
  const sha = createHash('sha1').update(script).digest('hex');
  const waitReplicas = deps.waitReplicas ?? 0;

  async function runAppend(keys: string[], args: (string | number)[]): Promise<[string, number]> {
    try {
      return (await client.evalsha(sha, keys.length, ...keys, ...args)) as [string, number];
    } catch (err) {
      // Each node of a Cluster (and a restarted Redis) learns the script on first use.
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      return (await client.eval(script, keys.length, ...keys, ...args)) as [string, number];
    }
  }

  /** WAIT on the connection that ran the append: on a Cluster, the master of the key's slot. */
  async function waitForReplicas(key: string): Promise<void> {
    let connection: Redis | Cluster = client;
    if (client instanceof Cluster) {
      const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
      const [master] = client.slots[slot] ?? [];
      connection = client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master) ?? client;
    }
    const acked = Number(await connection.call('WAIT', waitReplicas, deps.waitTimeoutMs ?? 1_000));
    if (acked < waitReplicas) throw new AppError('STORE_UNAVAILABLE', `the append reached ${acked} of ${waitReplicas} replicas in time: not acknowledged; retry with the same client id`, { retryAfterMs: 1_000 });
  }

  /** Up to `want` members of one bucket's index after the cursor, newest first. */
  async function membersAfter(key: string, cursor: Ranked | undefined, want: number): Promise<Ranked[]> {
    const found: Ranked[] = [];
    // Read again further on while members skipped at the cursor's own score leave it short.
    for (let offset = 0, batch = want + 1; ; offset += batch) {
      const raw = await client.zrevrangebyscore(key, cursor ? cursor.score : '+inf', '-inf', 'WITHSCORES', 'LIMIT', offset, batch);
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const member = { id: raw[i] as string, score: Number(raw[i + 1]) };
        // Members at the cursor's own score come in the same order: those up to it are behind us.
        if (!cursor || byNewest(member, cursor) > 0) found.push(member);
      }
      if (found.length >= want || raw.length < batch * 2) return found;
    }
  }

  return {
    isUp: deps.isUp,
    async append(input) {
      if (input.events.length === 0) throw new Error('an append carries at least one event');
      const keys = conversationKeys(input.conversationId, buckets);
      const events = input.events.map((event, i) => ({ seq: input.expectedSeq + i + 1, ...event }) as unknown as E);
      const stored = events.map((event) => ({ seq: event.seq, json: JSON.stringify(event) }));
      const perEvent = events.flatMap((event, i) => {
        const { json } = stored[i]!;
        return [json, JSON.stringify(conversationCloudEvent(input.conversationId, event, deps.nodeId)), eventMessage(input.conversationId, event.seq, json)];
      });
      const index = input.index ?? { add: [], remove: [], score: 0 };
      const indexKeys = [...index.remove, ...index.add].map((name) => indexKey(keys.bucket, name));
      const [outcome, seq] = await runAppend(
        [keys.events, keys.head, keys.clients, deps.outboxKey(keys.bucket), ...indexKeys],
        [input.clientId ?? '', input.expectedSeq, events.length, input.expireAfterMs === undefined ? '' : Math.max(1, Math.round(input.expireAfterMs)), JSON.stringify(input.snapshot ?? null), index.score, input.conversationId, index.remove.length, FANOUT_EVENTS_CHANNEL, CONVERSATIONS_TOPIC, OUTBOX_BELL_CHANNEL, ...perEvent],
      );
      if (outcome === 'conflict') return { outcome, seq };
      if (waitReplicas > 0) await waitForReplicas(keys.head);
      if (outcome === 'duplicate') return { outcome, seq };
      deps.onAppended?.(input.conversationId, stored);
      return { outcome: 'appended', seq, events } satisfies AppendResult<E>;
    },
    async read(conversationId, range = {}) {
      const { events } = conversationKeys(conversationId, buckets);
      const from = `0-${(range.afterSeq ?? 0) + 1}`;
      const until = range.untilSeq === undefined ? '+' : `0-${range.untilSeq}`;
      if (range.limit !== undefined && range.limit <= 0) return [];
      if (range.untilSeq !== undefined && range.untilSeq <= (range.afterSeq ?? 0)) return [];
      const raw = (range.limit === undefined ? await client.xrange(events, from, until) : await client.xrange(events, from, until, 'COUNT', range.limit)) as RawEntry[];
      return raw.map(([, fields]) => JSON.parse(fields[fields.indexOf('e') + 1] ?? 'null') as E);
    },
    async head(conversationId) {
      const keys = conversationKeys(conversationId, buckets);
      const [[seq, snapshot], exists] = await Promise.all([client.hmget(keys.head, 'seq', 'snapshot'), client.exists(keys.events)]);
      if (seq === null || seq === undefined) return undefined;
      return { seq: Number(seq), snapshot: JSON.parse(snapshot ?? 'null') as unknown, hasStream: exists === 1 };
    },
    async list(index, page) {
      const cursor = page.cursor === undefined ? undefined : parseCursor(page.cursor);
      const perBucket = await Promise.all(Array.from({ length: buckets }, (_, b) => membersAfter(indexKey(b, index), cursor, page.limit + 1)));
      return pageOf(perBucket.flat().sort(byNewest), page.limit);
    },
    async count(index) {
      const counts = await Promise.all(Array.from({ length: buckets }, (_, b) => client.zcard(indexKey(b, index))));
      return counts.reduce((a, b) => a + b, 0);
    },
  };
}
