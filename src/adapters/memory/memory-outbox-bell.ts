import type { OutboxBell } from '../../ports/outbox-bell.ts';

/** The outbox bell within one process: outboxes sharing it hear each other's rings (unit tests). */
export function createMemoryOutboxBell(): OutboxBell {
  const listeners = new Set<(streams: readonly string[]) => void>();
  return {
    ring(streams) {
      if (streams.length === 0) return;
      // Heard a turn later, as over Redis.
      queueMicrotask(() => listeners.forEach((hear) => hear(streams)));
    },
    async listen({ onRing }) {
      const hear = (streams: readonly string[]) => onRing(streams);
      listeners.add(hear);
      return { close: async () => void listeners.delete(hear) };
    },
  };
}
