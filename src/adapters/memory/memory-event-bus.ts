import type { BatchHandler, CloudEvent, EventBus, EventHandler, Subscription } from '../../ports/event-bus.ts';

export const DEFAULT_TOPIC = 'omnigate.events';
/** Events a batch handler gets at most at once. */
const BATCH = 500;

/** A member of a group: one event per call, or what waits (up to BATCH) per call. */
type Member = { readonly each: EventHandler } | { readonly batch: BatchHandler };

/**
 * The bus within one process (one node, no Kafka): each group gets every event once, in
 * publish order, a new group from the first event published; a handler that throws gets the
 * event again after a short pause.
 */
export function createMemoryEventBus(options: { retryDelayMs?: number } = {}): EventBus {
  const topics = new Map<string, { log: CloudEvent[]; groups: Map<string, Group> }>();
  interface Group {
    handlers: Member[];
    offset: number;
    running: boolean;
    next: number;
  }
  const topicOf = (name: string) => {
    let topic = topics.get(name);
    if (!topic) {
      topic = { log: [], groups: new Map() };
      topics.set(name, topic);
    }
    return topic;
  };
  let closed = false;

  function join(groupName: string, member: Member, opts: { readonly topic?: string; readonly fromBeginning?: boolean }): Subscription {
    const topic = topicOf(opts.topic ?? DEFAULT_TOPIC);
    let group = topic.groups.get(groupName);
    if (!group) {
      group = { handlers: [], offset: opts.fromBeginning === false ? topic.log.length : 0, running: false, next: 0 };
      topic.groups.set(groupName, group);
    }
    const own = group;
    own.handlers.push(member);
    void drain(topic, own);
    return {
      ready: Promise.resolve(),
      async close() {
        own.handlers = own.handlers.filter((h) => h !== member);
      },
    };
  }

  async function drain(topic: ReturnType<typeof topicOf>, group: Group): Promise<void> {
    if (group.running) return;
    group.running = true;
    try {
      while (!closed && group.offset < topic.log.length && group.handlers.length > 0) {
        const member = group.handlers[group.next++ % group.handlers.length] as Member;
        try {
          let handled = 1;
          if ('each' in member) await member.each(topic.log[group.offset] as CloudEvent);
          else {
            const events = topic.log.slice(group.offset, group.offset + BATCH);
            await member.batch(events);
            handled = events.length;
          }
          group.offset += handled;
        } catch {
          await new Promise((r) => setTimeout(r, options.retryDelayMs ?? 100));
        }
      }
    } finally {
      group.running = false;
    }
  }

  return {
    async publish(events, opts = {}) {
      const topic = topicOf(opts.topic ?? DEFAULT_TOPIC);
      topic.log.push(...events);
      for (const group of topic.groups.values()) void drain(topic, group);
    },
    subscribe: async (groupName, handler, opts = {}) => join(groupName, { each: handler }, opts),
    subscribeBatches: async (groupName, handler, opts = {}) => join(groupName, { batch: handler }, opts),
    async close() {
      closed = true;
    },
  };
}
