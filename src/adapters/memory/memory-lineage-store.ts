import type { LineageStore } from '../../ports/lineage-store.ts';
import type { LineageEntry, UnderstandingEntry } from '../../modules/lineage/lineage.types.ts';
import { byNewest, byOldest, pageOf, parseCursor, recordsOf, scoreOf, type LineageStoreOptions } from '../lineage-pages.ts';
import type { Ranked } from '../conversation-pages.ts';

type Index<T> = Map<string, { ranked: Ranked; item: T }>;

/** Lineage in one process (unit tests, a single node without Redis): the same retention, bounds, order and paging as Redis. */
export function createMemoryLineageStore(options: LineageStoreOptions): LineageStore {
  const now = options.now ?? Date.now;
  const conversations = new Map<string, Index<LineageEntry | UnderstandingEntry>>();
  const records = new Map<string, Index<LineageEntry>>();
  const floor = () => now() - options.retentionMs;

  function add<T>(indexes: Map<string, Index<T>>, key: string, id: string, score: number, item: T, max: number): void {
    const index = indexes.get(key) ?? new Map<string, { ranked: Ranked; item: T }>();
    indexes.set(key, index);
    if (score >= floor() && !index.has(id)) index.set(id, { ranked: { id, score }, item: structuredClone(item) });
    const kept = [...index.values()].filter((e) => e.ranked.score >= floor()).sort((a, b) => byOldest(a.ranked, b.ranked));
    for (const gone of [...index.values()].filter((e) => !kept.includes(e))) index.delete(gone.ranked.id);
    for (const over of kept.slice(0, Math.max(0, kept.length - max))) index.delete(over.ranked.id);
    if (index.size === 0) indexes.delete(key);
  }

  function page<T>(index: Index<T> | undefined, order: (a: Ranked, b: Ranked) => number, request: { limit: number; cursor?: string }) {
    const cursor = request.cursor === undefined ? undefined : parseCursor(request.cursor);
    const sorted = [...(index?.values() ?? [])]
      .filter((e) => e.ranked.score >= floor() && (!cursor || order(e.ranked, cursor) > 0))
      .sort((a, b) => order(a.ranked, b.ranked))
      .map((e) => ({ ranked: e.ranked, item: structuredClone(e.item) }));
    return pageOf(sorted, request.limit);
  }

  const recordKey = (key: { system: string; id: string }) => JSON.stringify([key.system, key.id]);
  return {
    async record(entry) {
      const score = scoreOf(entry);
      add(conversations, entry.conversationId, entry.id, score, entry, options.maxPerConversation);
      for (const key of recordsOf(entry.keys)) add(records, recordKey(key), entry.id, score, entry, options.maxPerRecord);
    },
    async understood(entry) {
      add(conversations, entry.conversationId, entry.id, scoreOf(entry), entry, options.maxPerConversation);
    },
    byConversation: async (conversationId, request) => page(conversations.get(conversationId), byOldest, request),
    byRecord: async (key, request) => page(records.get(recordKey(key)), byNewest, request),
  };
}
