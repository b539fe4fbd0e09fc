import type { TicketStore } from '../../ports/ticket-store.ts';

/** One process's tickets (unit tests, a single node without Redis). */
export function createMemoryTicketStore(now: () => number = Date.now): TicketStore {
  const tickets = new Map<string, { value: string; until: number }>();
  return {
    async put(id, value, ttlMs) {
      for (const [key, t] of tickets) if (t.until <= now()) tickets.delete(key);
      tickets.set(id, { value, until: now() + ttlMs });
    },
    async take(id) {
      const ticket = tickets.get(id);
      tickets.delete(id);
      return ticket && ticket.until > now() ? ticket.value : undefined;
    },
  };
}
