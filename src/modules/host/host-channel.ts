import { AggregatorRegistry, type Registry } from 'prom-client';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { CloudEvent, EventBus } from '../../ports/event-bus.ts';

/**
 * What the processes of one host say to their primary over the cluster IPC channel
 * (src/primary.ts): events to hand to the other processes, audit records for the one writer,
 * and requests for the host's metrics.
 */
export type ToPrimary =
  | { readonly omnigate: 'bus'; readonly topic: string; readonly events: readonly CloudEvent[] }
  | { readonly omnigate: 'audit'; readonly id: number; readonly record: unknown }
  | { readonly omnigate: 'metrics'; readonly id: number };

export type FromPrimary =
  | { readonly omnigate: 'bus'; readonly topic: string; readonly events: readonly CloudEvent[] }
  | { readonly omnigate: 'reply'; readonly id: number; readonly error?: string; readonly text?: string; readonly contentType?: string };

const isFromPrimary = (message: unknown): message is FromPrimary => typeof message === 'object' && message !== null && 'omnigate' in message;

/** How long a process waits for its primary to answer before it gives up on that request. */
const REPLY_TIMEOUT_MS = 5_000;

/** One process's side of the channel to its primary (only in a process the primary started). */
export interface HostChannel {
  /** The bus, with the events of `topics` also handed to the host's other processes (which publish them on their own bus). */
  relayBus(inner: EventBus, topics: readonly string[]): EventBus;
  /** The audit trail written by the primary alone; reads go to the file. */
  auditLog(local: AuditLog): AuditLog;
  /** The host's metrics: every process's, aggregated by the primary (prom-client's AggregatorRegistry). */
  metrics(): Promise<{ text: string; contentType: string }>;
}

export function createHostChannel(registry: Registry): HostChannel {
  const send = (message: ToPrimary): void => void process.send?.(message);
  const waiting = new Map<number, { resolve: (m: FromPrimary & { omnigate: 'reply' }) => void; reject: (err: Error) => void }>();
  let nextId = 0;
  const ask = (message: ToPrimary & { id: number }): Promise<FromPrimary & { omnigate: 'reply' }> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(message.id);
        reject(new Error(`the primary process did not answer ${message.omnigate} within ${REPLY_TIMEOUT_MS} ms`));
      }, REPLY_TIMEOUT_MS);
      waiting.set(message.id, {
        resolve: (reply) => (clearTimeout(timer), resolve(reply)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      send(message);
    });
  const relayed = new Map<string, EventBus>();
  process.on('message', (message: unknown) => {
    if (!isFromPrimary(message)) return;
    if (message.omnigate === 'reply') {
      const pending = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) pending?.reject(new Error(message.error));
      else pending?.resolve(message);
    } else if (message.omnigate === 'bus') {
      void relayed.get(message.topic)?.publish(message.events, { topic: message.topic });
    }
  });
  // This process's metrics, for the primary's AggregatorRegistry to ask for.
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();

  return {
    relayBus(inner, topics) {
      for (const topic of topics) relayed.set(topic, inner);
      return {
        async publish(events, options = {}) {
          await inner.publish(events, options);
          const topic = options.topic;
          if (topic !== undefined && relayed.has(topic)) send({ omnigate: 'bus', topic, events });
        },
        subscribe: (group, handler, options) => inner.subscribe(group, handler, options),
        subscribeBatches: (group, handler, options) => inner.subscribeBatches(group, handler, options),
        close: () => inner.close(),
      };
    },
    auditLog(local) {
      return {
        async append(record) {
          await ask({ omnigate: 'audit', id: ++nextId, record });
        },
        recent: (limit) => local.recent(limit),
      };
    },
    async metrics() {
      const reply = await ask({ omnigate: 'metrics', id: ++nextId });
      return { text: reply.text ?? '', contentType: reply.contentType ?? registry.contentType };
    },
  };
}
