import type { DedupeStore } from '../../ports/dedupe-store.ts';
import type { CloudEvent, EventHandler } from '../../ports/event-bus.ts';
import type { Metrics } from '../observability/metrics.ts';

export const DEFAULT_SEEN_TTL_S = 24 * 60 * 60;

/**
 * Delivery is at least once; this makes handling exactly once per group: an event id already
 * handled by the group is dropped. The mark is set only after the handler succeeded, so a
 * failure gets the event again. While the store (Redis) is away it remembers ids in memory (bounded).
 */
export function deduplicated(group: string, handler: EventHandler, deps: { dedupe: DedupeStore; metrics: Metrics; ttlS?: number }): EventHandler {
  const recent = new Set<string>();
  const remember = (id: string) => {
    recent.add(id);
    if (recent.size > 50_000) recent.delete(recent.values().next().value as string);
  };
  const key = (event: CloudEvent) => `omnigate:seen:${group}:${event.id}`;
  return async (event) => {
    let seen = recent.has(event.id);
    if (!seen && deps.dedupe.isUp()) seen = await deps.dedupe.has(key(event)).catch(() => false);
    if (seen) {
      deps.metrics.eventsDuplicate.inc({ group });
      return;
    }
    await handler(event);
    remember(event.id);
    if (deps.dedupe.isUp()) await deps.dedupe.mark(key(event), (deps.ttlS ?? DEFAULT_SEEN_TTL_S) * 1_000).catch(() => undefined);
    deps.metrics.eventsConsumed.inc({ group, type: event.type });
  };
}
