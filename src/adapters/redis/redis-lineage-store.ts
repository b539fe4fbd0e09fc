import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import type { LineageEntry, UnderstandingEntry } from '../../modules/lineage/lineage.types.ts';
import type { LineageStore } from '../../ports/lineage-store.ts';
import type { Ranked } from '../conversation-pages.ts';
import { byNewest, byOldest, pageOf, parseCursor, recordsOf, scoreOf, type LineageStoreOptions } from '../lineage-pages.ts';

/**
 * The keys of one index, both under one hash tag so that its script touches one Redis Cluster slot:
 * a conversation's `omnigate:lineage:{lc:<conversationId>}:idx|:data`, a business record's
 * `omnigate:lineage:{lr:<system>:<id>}:idx|:data`. The sorted set ranks entry ids by when their
 * call ended; the hash holds each entry's JSON.
 */
export const lineageKeys = {
  conversation: (conversationId: string) => indexKeys(`lc:${conversationId}`),
  record: (system: string, id: string) => indexKeys(`lr:${system}:${id}`),
};
function indexKeys(tag: string) {
  const base = `omnigate:lineage:{${tag}}`;
  return { index: `${base}:idx`, data: `${base}:data` };
}

type Keys = ReturnType<typeof indexKeys>;

/**
 * Lineage in the durable Redis (standalone or Cluster). Each entry is written into its
 * conversation's index and into each record's, by one script per index (lineage-index.lua):
 * once per entry id, pruned to the retention and the index's bound, expiring a retention after
 * the last write. Reads skip what is past the retention even before a write prunes it.
 */
export function createRedisLineageStore(client: Redis | Cluster, options: LineageStoreOptions): LineageStore {
  const now = options.now ?? Date.now;
  const script = readFileSync(new URL('./lineage-index.lua', import.meta.url), 'utf8');
  const sha = createHash('sha1').update(script).digest('hex');
  const floor = () => now() - options.retentionMs;

  async function add(keys: Keys, entry: LineageEntry | UnderstandingEntry, json: string, max: number): Promise<void> {
    const args = [entry.id, scoreOf(entry), json, floor(), max, options.retentionMs];
    try {
      await client.evalsha(sha, 2, keys.index, keys.data, ...args);
    } catch (err) {
      // Each node of a Cluster (and a restarted Redis) learns the script on first use.
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      await client.eval(script, 2, keys.index, keys.data, ...args);
    }
  }

  /** Up to `want` members after the cursor, in the index's order (forward: oldest first). */
  async function membersAfter(key: string, cursor: Ranked | undefined, want: number, forward: boolean): Promise<Ranked[]> {
    const order = forward ? byOldest : byNewest;
    const found: Ranked[] = [];
    const oldest = Math.max(floor(), forward && cursor ? cursor.score : -Infinity);
    const newest = !forward && cursor ? cursor.score : Infinity;
    // Read again further on while members skipped at the cursor's own score leave it short.
    for (let offset = 0, batch = want + 1; ; offset += batch) {
      const raw = forward
        ? await client.zrangebyscore(key, String(oldest), '+inf', 'WITHSCORES', 'LIMIT', offset, batch)
        : await client.zrevrangebyscore(key, newest === Infinity ? '+inf' : String(newest), String(oldest), 'WITHSCORES', 'LIMIT', offset, batch);
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const member = { id: raw[i] as string, score: Number(raw[i + 1]) };
        if (!cursor || order(member, cursor) > 0) found.push(member);
      }
      if (found.length >= want || raw.length < batch * 2) return found;
    }
  }

  async function page<T>(keys: Keys, forward: boolean, request: { limit: number; cursor?: string }) {
    const cursor = request.cursor === undefined ? undefined : parseCursor(request.cursor);
    const members = await membersAfter(keys.index, cursor, request.limit + 1, forward);
    if (members.length === 0) return { items: [] };
    const values = await client.hmget(keys.data, ...members.map((m) => m.id));
    // An entry pruned between the two reads is left out.
    const sorted = members.flatMap((ranked, i) => (values[i] ? [{ ranked, item: JSON.parse(values[i]) as T }] : []));
    return pageOf(sorted, request.limit);
  }

  return {
    async record(entry) {
      const json = JSON.stringify(entry);
      // Every index is written even when one fails (each is its own slot): the first failure is thrown after.
      const written = await Promise.allSettled([
        add(lineageKeys.conversation(entry.conversationId), entry, json, options.maxPerConversation),
        ...recordsOf(entry.keys).map((key) => add(lineageKeys.record(key.system, key.id), entry, json, options.maxPerRecord)),
      ]);
      const failed = written.find((w) => w.status === 'rejected');
      if (failed) throw failed.reason;
    },
    async understood(entry) {
      await add(lineageKeys.conversation(entry.conversationId), entry, JSON.stringify(entry), options.maxPerConversation);
    },
    byConversation: (conversationId, request) => page<LineageEntry | UnderstandingEntry>(lineageKeys.conversation(conversationId), true, request),
    byRecord: (key, request) => page<LineageEntry>(lineageKeys.record(key.system, key.id), false, request),
  };
}
