import type { RecordStore } from '../../ports/record-store.ts';

/** Records and indexes within one process (the unit tier). */
export function createMemoryRecordStore(): RecordStore {
  const collections = new Map<string, Map<string, string>>();
  const indexes = new Map<string, Set<string>>();
  const markers = new Set<string>();
  const collectionOf = (name: string) => collections.get(name) ?? collections.set(name, new Map()).get(name)!;
  const indexOf = (name: string) => indexes.get(name) ?? indexes.set(name, new Set()).get(name)!;
  return {
    isUp: () => true,
    async insert(collection, id, record, listedUnder, limit) {
      if (limit && indexOf(limit.index).size >= limit.max) return false;
      collectionOf(collection).set(id, record);
      for (const index of listedUnder) indexOf(index).add(id);
      return true;
    },
    async delete(collection, id, listedUnder) {
      if (!collectionOf(collection).delete(id)) return false;
      for (const index of listedUnder) indexOf(index).delete(id);
      return true;
    },
    get: async (collection, id) => collections.get(collection)?.get(id),
    getMany: async (collection, ids) => ids.flatMap((id) => collections.get(collection)?.get(id) ?? []),
    listed: async (names) => [...new Set(names.flatMap((name) => [...(indexes.get(name) ?? [])]))],
    async reindex(collection, marker, indexesOf) {
      if (markers.has(marker)) return false;
      for (const [id, record] of collectionOf(collection)) for (const index of indexesOf(record)) indexOf(index).add(id);
      markers.add(marker);
      return true;
    },
  };
}
