import { createHash } from 'node:crypto';
import { cloudEvent, COMMANDS_TOPIC } from '../../kernel/events.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { Events } from '../events/events.service.ts';
import type { Lifecycle, LifecycleCommand } from '../connectors/lifecycle.ts';

export const PACKAGE_TTL_S = 24 * 60 * 60;
/** How long a node id's first start is remembered (renewed at every start): one unused this long starts afresh. */
export const FIRST_START_TTL_MS = 365 * 24 * 60 * 60 * 1_000;
const packageKey = (digest: string) => `omnigate:package:${digest}`;
const firstStartKey = (nodeId: string) => `omnigate:cluster:first-start:${nodeId}`;

/** A lifecycle command as it travels between nodes. */
interface IssuedCommand {
  readonly action: LifecycleCommand['action'];
  readonly connector: string;
  readonly actor: string;
  /** The node id of the node it was given on (for the audit trail). */
  readonly origin: string;
  /** The process it was given on: that one has run it already. */
  readonly instance: string;
  /** For install: the tarball's sha256, its bytes parked in Redis. */
  readonly package?: string;
}

/**
 * Makes lifecycle changes cluster-wide: a change made on one node runs there, then goes out on
 * the commands topic; every other node runs it too (each node is its own consumer group, so each
 * sees every command, in order). Install tarballs travel through Redis, by digest. A node skips
 * what its own process issued, by instance id: a node id can be shared by mistake, an instance id
 * cannot. It also skips commands issued before its node id first started: a group new to the
 * topic gets the whole retained history, which its connectors folder and store already reflect or
 * supersede (replayed, a `remove X` then an `install X` whose package has expired leaves X removed).
 * A restarted node resumes where its group left off, so it still runs what it missed while down.
 * `blobs` (Redis) holds the install tarballs and when each node id first started.
 */
export async function clusterLifecycle(deps: { lifecycle: Lifecycle; events: Events; blobs: BlobStore; log: Logger }): Promise<Lifecycle & { close(): Promise<void> }> {
  const log = deps.log.child({ module: 'cluster' });
  const { nodeId, instanceId } = deps.events;
  const since = await firstStart(deps.blobs, nodeId, log);
  const subscription = await deps.events.subscribe(
    `omnigate-node-${nodeId}`,
    async (event) => {
      const command = event.data as IssuedCommand;
      if (command.instance === instanceId) return;
      if (Date.parse(event.time) < since) {
        log.info({ connector: command.connector, action: command.action, origin: command.origin, issued: event.time }, 'skipped a lifecycle command issued before this node first started');
        return;
      }
      const actor = `${command.actor}@${command.origin}`;
      let outcome;
      if (command.action === 'install') {
        const tarball = command.package ? await deps.blobs.get(packageKey(command.package)) : undefined;
        if (!tarball) {
          log.error({ connector: command.connector, package: command.package }, 'install from another node: its package is gone from Redis');
          return;
        }
        outcome = await deps.lifecycle.execute({ action: 'install', connector: command.connector, tarball, actor });
      } else {
        outcome = await deps.lifecycle.execute({ action: command.action, connector: command.connector, actor });
      }
      log.info({ connector: command.connector, action: command.action, origin: command.origin, result: outcome.result }, 'ran a lifecycle command from another node');
    },
    // From the start of what the bus holds: a command given while this group first joins is not lost.
    { topic: COMMANDS_TOPIC, fromBeginning: true },
  );

  return {
    async execute(command) {
      let digest: string | undefined;
      if (command.action === 'install') {
        // Parked before the change, with time to spare: other nodes fetch it from here.
        digest = createHash('sha256').update(command.tarball).digest('hex');
        try {
          await deps.blobs.put(packageKey(digest), command.tarball, PACKAGE_TTL_S * 1_000);
        } catch (err) {
          log.error({ err, connector: command.connector }, 'could not park the package for the other nodes: they will not follow this install');
          digest = undefined;
        }
      }
      const outcome = await deps.lifecycle.execute(command);
      // Only a change that took effect here goes to the others.
      if (outcome.result !== 'ok' || (command.action === 'install' && !digest)) return outcome;
      const issued: IssuedCommand = { action: command.action, connector: command.connector, actor: command.actor, origin: nodeId, instance: instanceId, ...(digest ? { package: digest } : {}) };
      await deps.events.publish([cloudEvent({ source: `/omnigate/nodes/${nodeId}`, type: 'lifecycle.requested', subject: command.connector, partitionkey: command.connector, data: issued })], COMMANDS_TOPIC);
      return outcome;
    },
    close: () => subscription.close(),
  };
}

/**
 * When this node id first started (ms), kept in Redis and renewed at every start. With Redis away,
 * this start: a restarted node then skips what it missed while down (logged).
 */
async function firstStart(store: BlobStore, nodeId: string, log: Logger): Promise<number> {
  const now = Date.now();
  try {
    const since = Number((await store.get(firstStartKey(nodeId)))?.toString() ?? now);
    await store.put(firstStartKey(nodeId), Buffer.from(String(since)), FIRST_START_TTL_MS);
    return since;
  } catch (err) {
    log.warn({ err }, 'could not read when this node first started: commands issued before this start are skipped');
    return now;
  }
}
