/**
 * Records (strings, JSON as a rule) by id in a collection, each listed under indexes (its owner,
 * the event types it wants …), so that a read by index never reads the whole collection. Each call
 * is atomic; a store that cannot answer rejects. Collection and index names are the caller's keys.
 */
export interface RecordStore {
  /** Whether the store is reachable now. */
  isUp(): boolean;
  /**
   * Stores `record` under `id` and lists it under every index, unless `limit.index` already lists
   * `limit.max` ids (checked and stored in one step): true when stored.
   */
  insert(collection: string, id: string, record: string, indexes: readonly string[], limit?: { readonly index: string; readonly max: number }): Promise<boolean>;
  /** Deletes the record and its entries in `indexes`: true when it was there. */
  delete(collection: string, id: string, indexes: readonly string[]): Promise<boolean>;
  get(collection: string, id: string): Promise<string | undefined>;
  /** The records of these ids that are there, in the order asked. */
  getMany(collection: string, ids: readonly string[]): Promise<string[]>;
  /** The ids listed under any of `indexes`. */
  listed(indexes: readonly string[]): Promise<string[]>;
  /**
   * Lists every record of the collection under the indexes `indexesOf` names for it, once: after
   * it completed, `marker` is set and later calls do nothing (false). For records stored before
   * their indexes existed.
   */
  reindex(collection: string, marker: string, indexesOf: (record: string) => readonly string[]): Promise<boolean>;
}
