import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../kernel/logger.ts';
import type { OutboxBell } from '../../ports/outbox-bell.ts';
import { subscribeRedis } from './redis-subscriber.ts';

/** The relay listens in the background (nothing waits for it), so a slow start may take its time. */
const LISTEN_TIMEOUT_MS = 5_000;

/** Where a ring goes: its message is the outbox stream keys, one per line. Scripts that append to an outbox stream publish its key here themselves. */
export const OUTBOX_BELL_CHANNEL = 'omnigate:outbox:bell';

/** The outbox bell over Redis pub/sub: one PUBLISH per ring, heard on a subscriber connection of its own. */
export function createRedisOutboxBell(deps: { readonly client: Redis | Cluster; readonly log: Logger }): OutboxBell {
  const log = deps.log.child({ module: 'outbox-bell' });
  return {
    ring(streams) {
      if (streams.length === 0) return;
      deps.client.publish(OUTBOX_BELL_CHANNEL, streams.join('\n')).catch((err: unknown) => log.debug({ err }, 'outbox bell not rung: the relay finds the events at its next poll'));
    },
    listen: (listener) =>
      subscribeRedis({
        client: deps.client, channels: [OUTBOX_BELL_CHANNEL], log, whileLost: 'events queued by other nodes wait for the next poll', subscribeTimeoutMs: LISTEN_TIMEOUT_MS,
        onMessage: (_channel, message) => listener.onRing(message.split('\n')), onResubscribed: () => listener.onMissed(),
      }),
  };
}
