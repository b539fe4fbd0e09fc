import type { TicketStore } from '../../ports/ticket-store.ts';
import type { RedisHandle } from './redis-client.ts';

/** SET with PX, then GETDEL: one atomic read-and-remove, so two nodes never both redeem a ticket. */
export function createRedisTicketStore(redis: RedisHandle, prefix = 'omnigate:ws:ticket:'): TicketStore {
  const { client } = redis;
  return {
    async put(id, value, ttlMs) {
      await client.set(`${prefix}${id}`, value, 'PX', ttlMs);
    },
    take: async (id) => (await client.getdel(`${prefix}${id}`)) ?? undefined,
  };
}
