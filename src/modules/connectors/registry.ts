import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLoader, StageError } from './loader.ts';
import type { StoredPackage } from './package-store.ts';
import { createSlots, now, type Slot } from './slots.ts';
import { createSupervisor } from './supervision.ts';

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

export type {
  LoadStage, ConnectorState, Problem, ConnectorVersion, ConnectorEntry, Lease, LifecycleAction, LifecycleWarning, SharedCapability, LifecycleOutcome, ConnectorRegistry, ConnectorRegistryDeps,
} from './registry.types.ts';
import type { Problem, ConnectorVersion, LifecycleAction, LifecycleOutcome, ConnectorRegistry, ConnectorRegistryDeps } from './registry.types.ts';

/**
 * The connectors and their versions. Lookup and leases live in slots.ts, loading a version in
 * loader.ts, restarts and rechecks in supervision.ts; this file holds the lifecycle: swap,
 * drain, rollback, remove.
 */
export function createConnectorRegistry(deps: ConnectorRegistryDeps): ConnectorRegistry {
  const log = deps.log.child({ module: 'connectors' });
  const slots = createSlots(deps.capabilityOwners);
  const loader = createLoader(deps, log, slots);
  /** The package of a connector that never came up, for rechecks. */
  const pendingPackages = new Map<string, StoredPackage>();
  const supervisor = createSupervisor({ slots, log, settings: deps, healthOf: loader.healthOf, activate, restart, pending: pendingPackages });
  let stopHealthChecks = (): void => {};

  /** Waits (bounded) for the calls holding a version to end, then closes it. */
  async function retire(slot: Slot, version: ConnectorVersion): Promise<void> {
    const deadline = Date.now() + (deps.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
    while ((slot.leases.get(version) ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const left = slot.leases.get(version) ?? 0;
    if (left > 0) log.warn({ connector: slot.name, version: version.version, inFlight: left }, 'drain timed out: closing the old version with calls in flight');
    slot.leases.delete(version);
    await version.host.close();
  }

  function record(outcome: LifecycleOutcome): LifecycleOutcome {
    const fields = { connector: outcome.connector, action: outcome.action, from: outcome.from, to: outcome.to, problem: outcome.problem };
    if (outcome.result === 'ok') log.info(fields, 'connector lifecycle change');
    else if (outcome.action === 'start') log.error(fields, 'connector failed to load');
    else log.error(fields, outcome.from ? 'connector lifecycle change failed; the previous version keeps serving' : 'connector lifecycle change failed; nothing changed');
    deps.onChange?.(outcome);
    return outcome;
  }

  /** The version that serves (and keeps serving when a change fails), as an outcome's `from`. */
  const serving = (slot: Slot): { from?: string } => (slot.active?.host.isAlive ? { from: slot.active.version } : {});

  /** At start the folder name is only a guess; the manifest names the connector. */
  function rename(slot: Slot, name: string): void {
    if (slot.name === name) return;
    slots.byName.delete(slot.name);
    slot.name = name;
    slots.byName.set(name, slot);
  }

  /** Loads `pkg` and, if every stage passes, swaps it in for the active version of `name`. */
  async function activate(slot: Slot, pkg: StoredPackage, action: LifecycleAction): Promise<LifecycleOutcome> {
    // Work queued on a connector that was removed (or a registry that closed) since: drop it.
    if (!slots.isCurrent(slot)) {
      return { connector: slot.name, action, result: 'failed', problem: { stage: 'load', message: 'the connector was removed or the gateway is stopping', at: now() } };
    }
    // A version whose worker died serves nothing: it is no reason to refuse an unhealthy replacement.
    const previous = slot.active?.host.isAlive ? slot.active : undefined;
    const dead = slot.active && !slot.active.host.isAlive ? slot.active : undefined;
    const base = { connector: slot.name, action, ...(previous ? { from: previous.version } : {}) };
    let candidate: ConnectorVersion;
    try {
      // At start the folder name only labels the connector until its manifest names it.
      candidate = await loader.prepare(pkg, slot.name, action === 'start' ? undefined : slot.name, (version, reason) => void supervisor.onWorkerDeath(slot, version, reason), action === 'install');
    } catch (err) {
      const problem: Problem = { stage: err instanceof StageError ? err.stage : 'load', message: (err as Error).message, at: now() };
      // Past its manifest, a connector failing at start has its name: listed, configured and
      // rechecked under it (a recheck expects the package to be the connector the slot names).
      if (action === 'start' && slot.manifest && (problem.stage === 'config' || problem.stage === 'auth')) rename(slot, slot.manifest.name);
      slot.lastError = problem;
      if (!slot.active) {
        slot.state = 'failed';
        slot.problem = problem;
      }
      return record({ ...base, result: 'failed', problem, to: pkg.version });
    }
    if (action === 'start') rename(slot, candidate.name);
    const unhealthy = await loader.healthOf(candidate);
    if (unhealthy && previous) {
      await candidate.host.close();
      slot.lastError = unhealthy;
      return record({ ...base, result: 'failed', problem: unhealthy, to: candidate.version });
    }
    if (!slots.isCurrent(slot)) {
      await candidate.host.close();
      return { ...base, result: 'failed', problem: { stage: 'load', message: 'the connector was removed or the gateway is stopping', at: now() } };
    }
    // The swap: one assignment, so every call leases either the old version or the new one.
    slot.active = candidate;
    slot.manifest = candidate.manifest;
    slot.state = unhealthy ? 'unhealthy' : 'ready';
    if (unhealthy) slot.problem = unhealthy;
    else delete slot.problem;
    if (unhealthy) slot.lastError = unhealthy;
    // What a rollback returns to: the version this one replaced (so two rollbacks toggle).
    if (previous) slot.rollbackTo = previous.package;
    if (previous) await retire(slot, previous);
    if (dead) slot.leases.delete(dead);
    if (unhealthy) supervisor.scheduleRecheck(slot, supervisor.firstRecheckMs);
    if (slot.crashes > 0) supervisor.resetBackoffWhenStable(slot, candidate);
    return record({ ...base, connector: slot.name, result: 'ok', to: candidate.version });
  }

  /** Restarts the active version's package in a fresh worker (after a crash or at recheck). */
  async function restart(slot: Slot, dead: ConnectorVersion | undefined): Promise<LifecycleOutcome> {
    const pkg = dead?.package ?? slot.active?.package;
    if (!pkg) return { connector: slot.name, action: 'restart', result: 'failed' };
    const rollbackTo = slot.rollbackTo;
    const outcome = await activate(slot, pkg, 'restart');
    // A restart is not an upgrade: it must not change what a rollback returns to.
    if (rollbackTo) slot.rollbackTo = rollbackTo;
    else delete slot.rollbackTo;
    return outcome;
  }

  /**
   * A refused install of a connector that never served and is not expected to (not in the folder
   * at start) leaves nothing behind: no listing, no degraded readiness, nothing to remove. The
   * admin has the 409, the audit keeps the record. One that only misses its config is kept,
   * expected to serve and answering CONNECTOR_NOT_CONFIGURED, until its run-time config is set
   * (PUT /v1/admin/connectors/{name}/config loads it then).
   */
  function refused(slot: Slot, outcome: LifecycleOutcome, pkg?: StoredPackage): LifecycleOutcome {
    if (outcome.result !== 'failed' || slot.active) return outcome;
    if (pkg && outcome.problem?.stage === 'config' && slot.manifest) {
      slot.configured = true;
      pendingPackages.set(slot.name, pkg);
      return outcome;
    }
    if (!slot.configured) {
      delete slot.problem;
      delete slot.lastError;
      delete slot.manifest;
    }
    return outcome;
  }

  const folderOf = (name: string): string | undefined => {
    const direct = join(deps.connectorsDir, name);
    return existsSync(join(direct, 'package.json')) ? direct : undefined;
  };

  return {
    async start() {
      if (!existsSync(deps.connectorsDir)) {
        log.error({ dir: deps.connectorsDir }, 'connectors folder not found');
        return;
      }
      // Links count too: a connector folder may be a symlink to a package elsewhere.
      const folders = readdirSync(deps.connectorsDir).filter((name) => existsSync(join(deps.connectorsDir, name, 'package.json'))).sort();
      await Promise.all(
        folders.map(async (folder) => {
          const slot = slots.slotFor(folder);
          slot.configured = true;
          let pkg: StoredPackage;
          try {
            pkg = deps.store.fromFolder(folder, join(deps.connectorsDir, folder));
          } catch (err) {
            slot.problem = slot.lastError = { stage: 'load', message: (err as Error).message, at: now() };
            record({ connector: folder, action: 'start', result: 'failed', problem: slot.problem });
            return;
          }
          const outcome = await slots.serially(slot, () => activate(slot, pkg, 'start'));
          if (outcome.result === 'failed' && (outcome.problem?.stage === 'auth' || outcome.problem?.stage === 'health')) {
            pendingPackages.set(slot.name, pkg);
            supervisor.scheduleRecheck(slot, supervisor.firstRecheckMs);
          }
          // Its run-time config, once set, loads it.
          if (outcome.result === 'failed' && outcome.problem?.stage === 'config') pendingPackages.set(slot.name, pkg);
        }),
      );
      stopHealthChecks = supervisor.startHealthChecks();
    },

    list: slots.list,
    get: slots.get,
    route: slots.route,
    resolve: slots.resolve,
    sharedCapabilities: slots.sharedCapabilities,
    bySystem: slots.bySystem,
    lease: slots.lease,

    reload(name) {
      const slot = slots.slotFor(name);
      return slots.serially(slot, async () => {
        const folder = folderOf(name);
        if (!folder) return record({ connector: name, action: 'reload', result: 'failed', ...serving(slot), problem: { stage: 'load', message: `no folder ${name} in ${deps.connectorsDir}`, at: now() } });
        return activate(slot, deps.store.fromFolder(name, folder), 'reload');
      });
    },

    install(name, tarball) {
      const slot = slots.slotFor(name);
      return slots.serially(slot, async () => {
        let pkg: StoredPackage;
        try {
          pkg = await deps.store.fromTarball(name, tarball);
        } catch (err) {
          return refused(slot, record({ connector: name, action: 'install', result: 'failed', problem: { stage: 'load', message: (err as Error).message, at: now() } }));
        }
        return refused(slot, await activate(slot, pkg, 'install'), pkg);
      });
    },

    rollback(name) {
      const slot = slots.slotFor(name);
      return slots.serially(slot, async () => {
        const target = slot.rollbackTo;
        if (!target) return record({ connector: name, action: 'rollback', result: 'failed', ...serving(slot), problem: { stage: 'load', message: 'there is no earlier version to roll back to', at: now() } });
        return activate(slot, target, 'rollback');
      });
    },

    reconfigure(name) {
      const slot = slots.byName.get(name);
      if (!slot || !slots.isKnown(slot)) return Promise.resolve(record({ connector: name, action: 'configure', result: 'failed', problem: { stage: 'load', message: `no connector ${name}`, at: now() } }));
      return slots.serially(slot, async () => {
        const pkg = slot.active?.package ?? pendingPackages.get(slot.name);
        if (!pkg) return record({ connector: name, action: 'configure', result: 'failed', ...serving(slot), problem: { stage: 'load', message: `no package of ${name} is kept to load: install it again`, at: now() } });
        const rollbackTo = slot.rollbackTo;
        const outcome = await activate(slot, pkg, 'configure');
        // A new config is not an upgrade: it must not change what a rollback returns to.
        if (rollbackTo) slot.rollbackTo = rollbackTo;
        else delete slot.rollbackTo;
        if (outcome.result === 'ok') pendingPackages.delete(slot.name);
        return outcome;
      });
    },

    remove(name) {
      const slot = slots.byName.get(name);
      if (!slot || !slots.isKnown(slot)) return Promise.resolve(record({ connector: name, action: 'remove', result: 'failed', problem: { stage: 'load', message: `no connector ${name}`, at: now() } }));
      return slots.serially(slot, async () => {
        const active = slot.active;
        slots.byName.delete(name);
        pendingPackages.delete(name);
        delete slot.active;
        if (slot.retry) clearTimeout(slot.retry);
        clearTimeout(slot.stable);
        if (active) await retire(slot, active);
        return record({ connector: name, action: 'remove', result: 'ok', ...(active ? { from: active.version } : {}) });
      });
    },

    async close() {
      slots.closed = true;
      stopHealthChecks();
      await Promise.allSettled(
        [...slots.byName.values()].map(async (slot) => {
          if (slot.retry) clearTimeout(slot.retry);
          clearTimeout(slot.stable);
          await slot.active?.host.close();
        }),
      );
    },
  };
}
