import { createHash } from 'node:crypto';
import { cloudEvent, COMMANDS_TOPIC } from '../../kernel/events.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { Events } from '../events/events.service.ts';
import type { Lifecycle, LifecycleCommand } from '../connectors/lifecycle.ts';

export const PACKAGE_TTL_S = 24 * 60 * 60;
const packageKey = (digest: string) => `omnigate:package:${digest}`;

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
 * only what its own process issued, by instance id: a node id can be shared by mistake, an
 * instance id cannot.
 */
export async function clusterLifecycle(deps: { lifecycle: Lifecycle; events: Events; packages: BlobStore; log: Logger }): Promise<Lifecycle & { close(): Promise<void> }> {
  const log = deps.log.child({ module: 'cluster' });
  const { nodeId, instanceId } = deps.events;
  const subscription = await deps.events.subscribe(
    `omnigate-node-${nodeId}`,
    async (event) => {
      const command = event.data as IssuedCommand;
      if (command.instance === instanceId) return;
      const actor = `${command.actor}@${command.origin}`;
      let outcome;
      if (command.action === 'install') {
        const tarball = command.package ? await deps.packages.get(packageKey(command.package)) : undefined;
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
    // A node new to the cluster replays the commands it missed, in order, and so converges.
    { topic: COMMANDS_TOPIC, fromBeginning: true },
  );

  return {
    async execute(command) {
      let digest: string | undefined;
      if (command.action === 'install') {
        // Parked before the change, with time to spare: other nodes fetch it from here.
        digest = createHash('sha256').update(command.tarball).digest('hex');
        try {
          await deps.packages.put(packageKey(digest), command.tarball, PACKAGE_TTL_S * 1_000);
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
