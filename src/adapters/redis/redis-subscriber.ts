import { Cluster, type Redis } from 'ioredis';
import type { Logger } from '../../kernel/logger.ts';

/** Reconnects to one Cluster node before the subscriber moves to another. */
const CLUSTER_NODE_RETRIES = 3;

export interface RedisSubscriptionDeps {
  /** The shared connection: the subscriber is its duplicate (a subscribed connection can do nothing else). */
  readonly client: Redis | Cluster;
  readonly channels: readonly string[];
  /** Already the subscriber's child logger (`{ module }`). */
  readonly log: Logger;
  /** What is missed while the subscriber is down, for the warning when it drops. */
  readonly whileLost: string;
  /**
   * How long a SUBSCRIBE may take, connecting included; absent: the shared connection's command
   * timeout (200 ms by default), which a new connection made while the process starts can pass.
   */
  readonly subscribeTimeoutMs?: number;
  onMessage(channel: string, message: string): void;
  /** Called once a dropped subscription is back: what was published meanwhile was missed. */
  onResubscribed(): void;
}

export interface RedisSubscription {
  close(): Promise<void>;
}

/**
 * Subscribes `channels` on a connection of its own; resolves once subscribed. When the connection
 * drops and comes back, it subscribes again and then calls `onResubscribed`. On a Cluster, a
 * PUBLISH reaches every node, so one node will do: the next in turn, given up for another after a
 * few failed reconnects (ioredis's own Cluster subscriber says nothing when it moves). A first
 * subscribe that fails leaves nothing open.
 */
export async function subscribeRedis(deps: RedisSubscriptionDeps): Promise<RedisSubscription> {
  const { log } = deps;
  let turn = 0;
  let current: Redis | undefined;

  function newConnection(): Redis {
    const { client } = deps;
    const timeout = deps.subscribeTimeoutMs === undefined ? {} : { commandTimeout: deps.subscribeTimeoutMs };
    if (!(client instanceof Cluster)) return client.duplicate({ enableOfflineQueue: true, ...timeout });
    const nodes = client.nodes('master');
    const node = nodes[turn++ % Math.max(1, nodes.length)];
    if (!node) throw new Error('the Redis Cluster has no master to subscribe on');
    return node.duplicate({ enableOfflineQueue: true, ...timeout, retryStrategy: (times: number) => (times > CLUSTER_NODE_RETRIES ? null : Math.min(times * 200, 1_000)) });
  }

  /** Subscribes a new connection; when it comes back after a loss (or is replaced), says so. */
  function open(isReplacement: boolean): Promise<void> {
    const connection = newConnection();
    current = connection;
    let lost = isReplacement;
    const subscribed = () =>
      connection.subscribe(...deps.channels).then(() => {
        if (!lost) return;
        lost = false;
        log.info('subscriber back');
        deps.onResubscribed();
      });
    connection.on('error', (err: Error) => log.debug({ err }, 'subscriber error'));
    connection.on('message', (channel: string, message: string) => deps.onMessage(channel, message));
    connection.on('close', () => {
      if (!lost && current === connection) log.warn({ whileLost: deps.whileLost }, 'subscriber lost');
      lost = true;
    });
    // Subscribed again (ioredis does too; twice is harmless) before anyone is told of the gap.
    connection.on('ready', () => {
      if (lost && current === connection) subscribed().catch((err: unknown) => log.warn({ err }, 'subscriber could not subscribe again'));
    });
    // Reconnects given up (a Cluster node gone): another node takes over.
    connection.on('end', () => {
      if (current === connection) open(true).catch((err: unknown) => log.warn({ err }, 'subscriber could not subscribe on another node'));
    });
    return subscribed();
  }

  try {
    await open(false);
  } catch (err) {
    const failed = current;
    current = undefined;
    failed?.disconnect();
    throw err;
  }
  return {
    async close() {
      const closing = current;
      // Unset first: its end must not open another.
      current = undefined;
      await closing?.quit().catch(() => closing.disconnect());
    },
  };
}
