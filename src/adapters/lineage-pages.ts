import type { BusinessKey, LineageEntry, UnderstandingEntry } from '../modules/lineage/lineage.types.ts';
import { byNewest, cursorAfter, type Ranked } from './conversation-pages.ts';

export { parseCursor } from './conversation-pages.ts';

/** How a lineage store keeps its indexes: the retention and the bound of each index (both adapters). */
export interface LineageStoreOptions {
  /** Entries whose call ended longer ago than this are neither listed nor kept. */
  readonly retentionMs: number;
  /** The newest this many entries of one conversation are kept. */
  readonly maxPerConversation: number;
  /** The newest this many entries of one business record are kept. */
  readonly maxPerRecord: number;
  readonly now?: () => number;
}

/** A conversation's trace reads forward: oldest score first, then id ascending by its bytes (Redis's order for equal scores). */
export const byOldest = (a: Ranked, b: Ranked): number => a.score - b.score || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
export { byNewest };

/** The records an entry indexes, each once (`system` + `id`: the type does not split a record). */
export function recordsOf(keys: readonly BusinessKey[]): { system: string; id: string }[] {
  const seen = new Map<string, { system: string; id: string }>();
  for (const { system, id } of keys) seen.set(JSON.stringify([system, id]), { system, id });
  return [...seen.values()];
}

/** The score of an entry in every index: when its call ended (epoch ms). */
export const scoreOf = (entry: LineageEntry | UnderstandingEntry): number => Date.parse(entry.at);

/** One page: the first `limit` of `sorted` (already after the cursor), and the cursor after the last when there are more. */
export function pageOf<T>(sorted: readonly { ranked: Ranked; item: T }[], limit: number): { items: T[]; next?: string } {
  const page = sorted.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map((p) => p.item), ...(sorted.length > limit && last ? { next: cursorAfter(last.ranked) } : {}) };
}
