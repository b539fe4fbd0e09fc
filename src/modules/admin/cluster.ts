import { createHash } from 'node:crypto';
import { cloudEvent, COMMANDS_TOPIC } from '../../kernel/events.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { BlobStore } from '../../ports/blob-store.ts';
import type { RecordStore } from '../../ports/record-store.ts';
import type { Subscription } from '../../ports/event-bus.ts';
import type { Events } from '../events/events.service.ts';
import type { Lifecycle, LifecycleCommand } from '../connectors/lifecycle.ts';
import type { ConnectorRegistry, LifecycleOutcome, Problem } from '../connectors/registry.ts';
import type { RuntimeConfigs } from '../connectors/runtime-config.ts';
import { converge } from './converge.ts';
import { createDesiredStates, PACKAGE_TTL_S, packageKey } from './desired-state.ts';

export { PACKAGE_TTL_S } from './desired-state.ts';
/** How long a node id's first start is remembered (renewed at every start): one unused this long starts afresh. */
export const FIRST_START_TTL_MS = 365 * 24 * 60 * 60 * 1_000;
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
  /** For configure: the run-time fields now set, by name (for the audit). */
  readonly fields?: readonly string[];
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
 * What came before a node first started reaches it through the desired state instead: each change
 * that took effect records what it makes desired (in `records`, durable Redis), and `start()`
 * brings the node there before it serves (converge.ts) — only with a shared bus, the one case of
 * a cluster. `blobs` (Redis) holds the install tarballs and when each node id first started.
 */
export async function clusterLifecycle(deps: {
  lifecycle: Lifecycle; events: Events; blobs: BlobStore; records: RecordStore; registry: Pick<ConnectorRegistry, 'get'>; isShared: boolean; log: Logger;
  /** Read again before a `configure` from another node runs: it changed the connector's run-time config there. */
  runtimeConfigs?: Pick<RuntimeConfigs, 'refresh'>;
}): Promise<ClusterLifecycle> {
  const log = deps.log.child({ module: 'cluster' });
  const { nodeId, instanceId } = deps.events;
  const since = await firstStart(deps.blobs, nodeId, log);
  const desired = createDesiredStates({ records: deps.records, blobs: deps.blobs, log });
  /** Connectors this node could not bring to the desired state at start, until a change of each takes effect. */
  let problems = new Map<string, Problem>();
  let subscription: Subscription | undefined;
  const subscribe = () => deps.events.subscribe(
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
      } else if (command.action === 'configure') {
        await deps.runtimeConfigs?.refresh(command.connector);
        outcome = await deps.lifecycle.execute({ action: 'configure', connector: command.connector, actor, ...(command.fields ? { fields: command.fields } : {}) });
      } else {
        outcome = await deps.lifecycle.execute({ action: command.action, connector: command.connector, actor });
      }
      if (outcome.result === 'ok') problems.delete(command.connector);
      log.info({ connector: command.connector, action: command.action, origin: command.origin, result: outcome.result }, 'ran a lifecycle command from another node');
    },
    // From the start of what the bus holds: a command given while this group first joins is not lost.
    { topic: COMMANDS_TOPIC, fromBeginning: true },
  );

  return {
    async start() {
      // Before the commands: one given since it read the desired state then runs after it, in order.
      if (deps.isShared) problems = await converge({ desired, blobs: deps.blobs, registry: deps.registry, lifecycle: deps.lifecycle, log });
      subscription = await subscribe();
    },
    problems: () => problems,
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
      // Only a change that took effect here goes to the others (an install kept until its config is set counts).
      if (!(outcome.result === 'ok' || awaitsConfig(outcome)) || (command.action === 'install' && !digest)) return outcome;
      problems.delete(command.connector);
      if (deps.isShared) await desired.changed(command, outcome, digest);
      const issued: IssuedCommand = { action: command.action, connector: command.connector, actor: command.actor, origin: nodeId, instance: instanceId, ...(digest ? { package: digest } : {}), ...(command.action === 'configure' && command.fields ? { fields: command.fields } : {}) };
      await deps.events.publish([cloudEvent({ source: `/omnigate/nodes/${nodeId}`, type: 'lifecycle.requested', subject: command.connector, partitionkey: command.connector, data: issued })], COMMANDS_TOPIC);
      return outcome;
    },
    close: async () => subscription?.close(),
  };
}

/**
 * An install that failed only for its config, with nothing serving before: the package is kept
 * (on every node) until PUT /v1/admin/connectors/{name}/config gives it one.
 */
const awaitsConfig = (outcome: LifecycleOutcome): boolean => outcome.action === 'install' && outcome.result === 'failed' && outcome.problem?.stage === 'config' && !outcome.from;

/** Lifecycle changes made cluster-wide; `start()` once the connectors are loaded, before serving. */
export interface ClusterLifecycle extends Lifecycle {
  /** Brings this node to the cluster's desired state, then follows the commands of the other nodes. */
  start(): Promise<void>;
  /** Connectors this node could not bring to the cluster's desired state at start, with why. */
  problems(): ReadonlyMap<string, Problem>;
  close(): Promise<void>;
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
