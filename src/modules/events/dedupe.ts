import type { DedupeStore } from '../../ports/dedupe-store.ts';
import type { BatchHandler, CloudEvent, EventHandler } from '../../ports/event-bus.ts';
import type { Metrics } from '../observability/metrics.ts';

export const DEFAULT_SEEN_TTL_S = 24 * 60 * 60;
/** Ids a group remembers in memory, besides the store's marks (and while the store is away). */
const RECENT_IDS = 50_000;

type DedupeDeps = { dedupe: DedupeStore; metrics: Metrics; ttlS?: number };

/** A group's marks: the store's, and the ids it handled lately in memory (bounded). */
function marksOf(group: string, deps: DedupeDeps) {
  // Two generations instead of evicting one id at a time: deleting a Set's oldest entry again and
  // again leaves holes that every later `values().next()` walks past.
  let current = new Set<string>();
  let previous = new Set<string>();
  const key = (event: CloudEvent) => `omnigate:seen:${group}:${event.id}`;
  const ttlMs = (deps.ttlS ?? DEFAULT_SEEN_TTL_S) * 1_000;
  return {
    key,
    ttlMs,
    has: (id: string) => current.has(id) || previous.has(id),
    remember(id: string) {
      current.add(id);
      if (current.size < RECENT_IDS / 2) return;
      previous = current;
      current = new Set();
    },
  };
}

/**
 * Delivery is at least once; this makes handling exactly once per group: an event id already
 * handled by the group is dropped. The mark is set only after the handler succeeded, so a
 * failure gets the event again. While the store (Redis) is away it remembers ids in memory (bounded).
 */
export function deduplicated(group: string, handler: EventHandler, deps: DedupeDeps): EventHandler {
  const marks = marksOf(group, deps);
  return async (event) => {
    let seen = marks.has(event.id);
    if (!seen && deps.dedupe.isUp()) seen = await deps.dedupe.has(marks.key(event)).catch(() => false);
    if (seen) {
      deps.metrics.eventsDuplicate.inc({ group });
      return;
    }
    await handler(event);
    marks.remember(event.id);
    if (deps.dedupe.isUp()) await deps.dedupe.mark(marks.key(event), marks.ttlMs).catch(() => undefined);
    deps.metrics.eventsConsumed.inc({ group, type: event.type });
  };
}

/**
 * `deduplicated` for a batch: the marks of the whole batch read in one round trip and set in one
 * after the handler succeeded with the events not seen before (in their order). A repeat within
 * the batch is handled once.
 */
export function deduplicatedBatch(group: string, handler: BatchHandler, deps: DedupeDeps): BatchHandler {
  const marks = marksOf(group, deps);
  return async (events) => {
    const candidates: CloudEvent[] = [];
    const ids = new Set<string>();
    for (const event of events) {
      if (marks.has(event.id) || ids.has(event.id)) continue;
      ids.add(event.id);
      candidates.push(event);
    }
    const stored = deps.dedupe.isUp() && candidates.length > 0 ? await deps.dedupe.hasMany(candidates.map(marks.key)).catch(() => candidates.map(() => false)) : [];
    const fresh = candidates.filter((_, i) => stored[i] !== true);
    if (events.length > fresh.length) deps.metrics.eventsDuplicate.inc({ group }, events.length - fresh.length);
    if (fresh.length === 0) return;
    await handler(fresh);
    for (const event of fresh) {
      marks.remember(event.id);
      deps.metrics.eventsConsumed.inc({ group, type: event.type });
    }
    if (deps.dedupe.isUp()) await deps.dedupe.markMany(fresh.map(marks.key), marks.ttlMs).catch(() => undefined);
  };
}
