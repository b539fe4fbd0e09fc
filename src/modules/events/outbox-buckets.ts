import type { Logger } from '../../kernel/logger.ts';
import type { LeaseStore } from '../../ports/lease-store.ts';

export const DEFAULT_OUTBOX_BUCKETS = 16;
export const DEFAULT_OUTBOX_LEASE_MS = 10_000;

/**
 * The Redis Cluster hash tag of an outbox bucket, such as `{ob-7}`. Every key that carries it
 * lands on the bucket's slot, so one Lua script may write such a key and the bucket's outbox
 * stream together (the chat core keeps a conversation's keys under its bucket's tag, so that
 * appending to the conversation and queueing its events is one atomic step).
 */
export function bucketTag(bucket: number): string {
  return `{ob-${bucket}}`;
}

/**
 * The outbox bucket of a partition key (an aggregate id): FNV-1a over its UTF-8 bytes, modulo the
 * bucket count. Events of one key always share a bucket, so they are relayed in the order they
 * were queued. Every node must run with the same count (`OMNIGATE_OUTBOX_BUCKETS`); changing it
 * moves keys to other buckets, so do it with the outbox drained.
 */
export function outboxBucketOf(key: string, buckets = DEFAULT_OUTBOX_BUCKETS): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % buckets;
}

/**
 * The Redis stream of a bucket: `omnigate:outbox:{ob-7}`, shared by the cluster. With the
 * in-process bus (no Kafka) the bus is the node's own, so its outbox is too: `scope` (the node
 * id) is appended after the tag. An entry has two fields: `e`, the CloudEvent as JSON, and `t`,
 * its topic (empty for the events topic); a script that appends one itself writes exactly those.
 */
export function bucketKey(bucket: number, scope?: string): string {
  return `omnigate:outbox:${bucketTag(bucket)}${scope ? `:node:${scope}` : ''}`;
}

const NODES_KEY = 'omnigate:outbox:nodes';
const leaseKey = (bucket: number) => `${bucketKey(bucket)}:lease`;

/** The buckets this process may relay now. */
export interface BucketLeases {
  /** Buckets held now; a lease lost or not renewed in time is not among them. */
  held(): number[];
  holds(bucket: number): boolean;
  /** Stops renewing and hands every lease back (each after `settle(bucket)`). */
  close(): Promise<void>;
}

/** Without Kafka the outbox is this node's alone: it holds every bucket, no leases. */
export function allBuckets(buckets: number): BucketLeases {
  const all = Array.from({ length: buckets }, (_, b) => b);
  return { held: () => all, holds: () => true, close: async () => undefined };
}

/**
 * Leases on the outbox buckets, in Redis, spread fairly over the live nodes: every node
 * heartbeats into a sorted set (an entry lives `leaseMs`), and bucket b belongs to the b-th live
 * node modulo their number (by instance id). A node takes and renews the leases of its buckets
 * every `leaseMs / 10`, hands back the others (once the batch in flight is done: `settle`), and
 * stops relaying a bucket whose lease it did not renew in time. A node that dies for good drops
 * out after `leaseMs`, and its buckets go to the others.
 */
export function createBucketLeases(deps: {
  leases: LeaseStore;
  log: Logger;
  instanceId: string;
  nodeId: string;
  buckets: number;
  leaseMs: number;
  settle(bucket: number): Promise<void>;
  /** A bucket not held before was taken (at start, or over from a node gone or leaving). */
  onAcquired?(): void;
}): BucketLeases {
  const log = deps.log.child({ module: 'outbox-leases' });
  const store = deps.leases;
  /** Bucket → local time until which its lease is surely ours. */
  const heldUntil = new Map<number, number>();
  let closed = false;
  let failures = 0;
  let warnedTwin = false;
  let wake: (() => void) | undefined;

  async function release(bucket: number): Promise<void> {
    heldUntil.delete(bucket);
    await deps.settle(bucket);
    await store.release(leaseKey(bucket), deps.instanceId);
  }

  async function beat(): Promise<void> {
    const startedAt = Date.now();
    // Expiries by the store's clock, so that nodes whose clocks disagree still agree on who lives.
    const live = await store.heartbeat(NODES_KEY, deps.instanceId, deps.leaseMs);
    let acquired = false;
    const twins = live.filter((id) => id !== deps.instanceId && id.startsWith(`${deps.nodeId}#`));
    if (twins.length > 0 && !warnedTwin) {
      warnedTwin = true;
      log.error({ nodeId: deps.nodeId }, 'another live gateway has this NODE_ID: they share one consumer group for cluster commands; give each node its own NODE_ID');
    }
    await Promise.all(
      Array.from({ length: deps.buckets }, async (_, bucket) => {
        if (live[bucket % live.length] !== deps.instanceId) {
          // Released every beat, not only once: a release that failed (a command timeout) is
          // retried, rather than keeping the bucket from its node until the lease runs out.
          await release(bucket);
          return;
        }
        if (await store.acquire(leaseKey(bucket), deps.instanceId, deps.leaseMs)) {
          acquired ||= (heldUntil.get(bucket) ?? 0) <= Date.now();
          heldUntil.set(bucket, startedAt + deps.leaseMs);
        } else heldUntil.delete(bucket);
      }),
    );
    if (acquired) deps.onAcquired?.();
  }

  const beating = (async () => {
    while (!closed) {
      try {
        if (store.isUp()) await beat();
        if (failures > 0) log.info({ afterFailures: failures, held: heldUntil.size }, 'outbox leases renewed again');
        failures = 0;
      } catch (err) {
        failures += 1;
        if (failures === 1 || failures % 30 === 0) log.warn({ err, failures }, 'could not renew the outbox leases: buckets stop relaying when they run out');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(50, deps.leaseMs / 10));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();

  return {
    held: () => {
      const now = Date.now();
      return [...heldUntil].filter(([, until]) => until > now).map(([bucket]) => bucket);
    },
    holds: (bucket) => (heldUntil.get(bucket) ?? 0) > Date.now(),
    async close() {
      closed = true;
      wake?.();
      await beating;
      // Handed back at once, so that the others take over now rather than when the leases run out.
      await Promise.allSettled([...heldUntil.keys()].map(release));
      await store.leave(NODES_KEY, deps.instanceId).catch(() => undefined);
    },
  };
}
