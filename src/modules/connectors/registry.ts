import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { AppError } from '../../kernel/errors.ts';
import { createAjv, toIssues } from '../../kernel/schemas.ts';
import type { ConnectorManifest } from '../../sdk/types.ts';
import { resolveConnectorConfig } from './connector-config.ts';
import { createWorkerHost } from './host/worker-host.ts';
import { MANIFEST_SCHEMA } from './manifest.schema.ts';
import type { StoredPackage } from './package-store.ts';

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY_MIN_MS = 2_000;
export const DEFAULT_RETRY_MAX_MS = 60_000;
export const DEFAULT_RESTART_RESET_MS = 60_000;

export type {
  LoadStage, ConnectorState, Problem, ConnectorVersion, ConnectorEntry, Lease, LifecycleAction, LifecycleOutcome, ConnectorRegistry, ConnectorRegistryDeps,
} from './registry.types.ts';
import type {
  LoadStage, ConnectorState, Problem, ConnectorVersion, ConnectorEntry, LifecycleAction, LifecycleOutcome, ConnectorRegistry, ConnectorRegistryDeps,
} from './registry.types.ts';

class StageError extends Error {
  readonly stage: LoadStage;
  constructor(stage: LoadStage, message: string, options?: ErrorOptions) {
    super(message, options);
    this.stage = stage;
  }
}

interface Slot {
  name: string;
  state: ConnectorState;
  active?: ConnectorVersion;
  manifest?: ConnectorManifest;
  rollbackTo?: StoredPackage;
  lastError?: Problem;
  problem?: Problem;
  restarts: number;
  /** Crashes since the worker last stayed healthy for restartResetMs: the restart backoff's exponent. */
  crashes: number;
  /** Resets `crashes` once a restarted worker has stayed healthy long enough. */
  stable?: NodeJS.Timeout;
  leases: Map<ConnectorVersion, number>;
  /** Lifecycle changes of one connector run one at a time. */
  queue: Promise<unknown>;
  retry?: NodeJS.Timeout;
}

export function createConnectorRegistry(deps: ConnectorRegistryDeps): ConnectorRegistry {
  const log = deps.log.child({ module: 'connectors' });
  // Env settings arrive as strings and are coerced; call params arrive as JSON and are not.
  const configAjv = createAjv({ coerceTypes: true, useDefaults: true });
  const paramsAjv = createAjv({ useDefaults: true });
  const validateManifest = configAjv.compile(MANIFEST_SCHEMA);
  const slots = new Map<string, Slot>();
  let closed = false;

  const now = () => new Date().toISOString();
  const slotFor = (name: string): Slot => {
    let slot = slots.get(name);
    if (!slot) {
      slot = { name, state: 'failed', restarts: 0, crashes: 0, leases: new Map(), queue: Promise.resolve() };
      slots.set(name, slot);
    }
    return slot;
  };
  const serially = <T>(slot: Slot, work: () => Promise<T>): Promise<T> => {
    const next = slot.queue.then(work, work);
    slot.queue = next.catch(() => undefined);
    return next;
  };

  function checkManifest(manifest: ConnectorManifest, expectedName: string | undefined): void {
    if (!validateManifest(manifest)) throw new StageError('manifest', toIssues(validateManifest.errors).map((i) => `manifest.${i.message}`).join('; '));
    if (expectedName && manifest.name !== expectedName) throw new StageError('manifest', `the package is connector ${manifest.name}, not ${expectedName}`);
    for (const capability of manifest.capabilities) {
      try {
        deps.schemas.validatorFor(capability.result);
      } catch (err) {
        throw new StageError('manifest', `capability ${capability.name}: ${(err as Error).message}`);
      }
    }
  }

  /** Everything up to the swap: a version that may serve, or a StageError. */
  async function prepare(pkg: StoredPackage, label: string, expectedName: string | undefined, onDeath: (version: ConnectorVersion, reason: string) => void): Promise<ConnectorVersion> {
    const connectorLog = log.child({ connector: label });
    let version: ConnectorVersion | undefined;
    const host = createWorkerHost({
      name: label,
      moduleUrl: pathToFileURL(join(pkg.dir, pkg.entry)).href,
      log: connectorLog,
      ...(deps.workerHeapMb ? { heapMb: deps.workerHeapMb } : {}),
      ...(deps.secrets ? { secrets: deps.secrets } : {}),
      onDeath: (reason) => version && onDeath(version, reason),
    });
    try {
      let manifest: ConnectorManifest;
      try {
        manifest = await host.load();
      } catch (err) {
        throw new StageError('load', (err as Error).message, { cause: err });
      }
      // Known even if a later stage fails, so that its capabilities answer "unavailable", not "unknown".
      const labelled = slots.get(label);
      if (labelled && !labelled.active) labelled.manifest = manifest;
      checkManifest(manifest, expectedName);
      const { config, problems } = resolveConnectorConfig(configAjv, manifest.name, manifest.configSchema, deps.connectorEnv);
      if (problems.length > 0) throw new StageError('config', problems.join('; '));
      const params = new Map<string, ValidateFunction>();
      for (const capability of manifest.capabilities) {
        try {
          params.set(capability.name, paramsAjv.compile(capability.params));
        } catch (err) {
          throw new StageError('manifest', `capability ${capability.name}: params schema: ${(err as Error).message}`);
        }
      }
      await host.auth(config).catch((err: unknown) => {
        throw new StageError('auth', (err as Error).message, { cause: err });
      });
      version = {
        name: manifest.name,
        version: manifest.version,
        manifest,
        package: pkg,
        host,
        config,
        params,
        capabilities: new Map(manifest.capabilities.map((c) => [c.name, c])),
        loadedAt: now(),
      };
      return version;
    } catch (err) {
      await host.close();
      throw err;
    }
  }

  async function healthOf(version: ConnectorVersion): Promise<Problem | undefined> {
    try {
      const report = await Promise.race([
        version.host.health(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('health check took longer than 5000 ms')), 5_000).unref()),
      ]);
      return report.ok ? undefined : { stage: 'health', message: report.detail ?? 'health check failed', at: now() };
    } catch (err) {
      return { stage: 'health', message: (err as Error).message, at: now() };
    }
  }

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
    else log.error(fields, outcome.action === 'start' ? 'connector failed to load' : 'connector lifecycle change failed; the previous version keeps serving');
    deps.onChange?.(outcome);
    return outcome;
  }

  /** Loads `pkg` and, if every stage passes, swaps it in for the active version of `name`. */
  async function activate(slot: Slot, pkg: StoredPackage, action: LifecycleAction): Promise<LifecycleOutcome> {
    // Work queued on a connector that was removed (or a registry that closed) since: drop it.
    if (closed || slots.get(slot.name) !== slot) {
      return { connector: slot.name, action, result: 'failed', problem: { stage: 'load', message: 'the connector was removed or the gateway is stopping', at: now() } };
    }
    // A version whose worker died serves nothing: it is no reason to refuse an unhealthy replacement.
    const previous = slot.active?.host.isAlive ? slot.active : undefined;
    const dead = slot.active && !slot.active.host.isAlive ? slot.active : undefined;
    const base = { connector: slot.name, action, ...(previous ? { from: previous.version } : {}) };
    let candidate: ConnectorVersion;
    try {
      // At start the folder name only labels the connector until its manifest names it.
      candidate = await prepare(pkg, slot.name, action === 'start' ? undefined : slot.name, (version, reason) => void onWorkerDeath(slot, version, reason));
    } catch (err) {
      const problem: Problem = { stage: err instanceof StageError ? err.stage : 'load', message: (err as Error).message, at: now() };
      slot.lastError = problem;
      if (!slot.active) {
        slot.state = 'failed';
        slot.problem = problem;
      }
      return record({ ...base, result: 'failed', problem, to: pkg.version });
    }
    if (action === 'start' && candidate.name !== slot.name) {
      // At start the folder name is only a guess; the manifest names the connector.
      slots.delete(slot.name);
      slot.name = candidate.name;
      slots.set(candidate.name, slot);
    }
    const unhealthy = await healthOf(candidate);
    if (unhealthy && previous) {
      await candidate.host.close();
      slot.lastError = unhealthy;
      return record({ ...base, result: 'failed', problem: unhealthy, to: candidate.version });
    }
    if (closed || slots.get(slot.name) !== slot) {
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
    if (unhealthy) scheduleRecheck(slot, deps.retryMinMs ?? DEFAULT_RETRY_MIN_MS);
    if (slot.crashes > 0) resetBackoffWhenStable(slot, candidate);
    return record({ ...base, connector: slot.name, result: 'ok', to: candidate.version });
  }

  /** A worker died (crash, out of memory, blocked loop): restart the same version in a new one. */
  async function onWorkerDeath(slot: Slot, version: ConnectorVersion, reason: string): Promise<void> {
    if (closed || slot.active !== version) return;
    slot.state = 'unhealthy';
    slot.problem = { stage: 'runtime', message: reason, at: now() };
    slot.lastError = slot.problem;
    slot.restarts += 1;
    slot.crashes += 1;
    clearTimeout(slot.stable);
    const delay = Math.min((deps.retryMinMs ?? DEFAULT_RETRY_MIN_MS) / 4 * 2 ** Math.min(slot.crashes - 1, 6), deps.retryMaxMs ?? DEFAULT_RETRY_MAX_MS);
    log.warn({ connector: slot.name, restarts: slot.restarts, delayMs: delay }, 'restarting the connector worker');
    await new Promise((r) => setTimeout(r, delay).unref());
    await serially(slot, async () => {
      if (closed || slot.active !== version) return;
      const outcome = await activateReplacing(slot, version);
      if (outcome.result === 'failed') scheduleRecheck(slot, deps.retryMinMs ?? DEFAULT_RETRY_MIN_MS);
    });
  }

  /** A worker that crashed once in a long while is restarted quickly, not after the last storm's delay. */
  function resetBackoffWhenStable(slot: Slot, version: ConnectorVersion): void {
    clearTimeout(slot.stable);
    slot.stable = setTimeout(() => {
      if (closed || slot.active !== version || !version.host.isAlive) return;
      slot.crashes = 0;
      log.info({ connector: slot.name }, 'connector stayed healthy: restart backoff reset');
    }, deps.restartResetMs ?? DEFAULT_RESTART_RESET_MS);
    slot.stable.unref();
  }

  /** Restarts the active version's package in a fresh worker (after a crash or at recheck). */
  async function activateReplacing(slot: Slot, dead: ConnectorVersion | undefined): Promise<LifecycleOutcome> {
    const pkg = dead?.package ?? slot.active?.package;
    if (!pkg) return { connector: slot.name, action: 'restart', result: 'failed' };
    const rollbackTo = slot.rollbackTo;
    const outcome = await activate(slot, pkg, 'restart');
    // A restart is not an upgrade: it must not change what a rollback returns to.
    if (rollbackTo) slot.rollbackTo = rollbackTo;
    else delete slot.rollbackTo;
    return outcome;
  }

  /** A connector that is failed (backend down at start) or unhealthy is retried with backoff. */
  function scheduleRecheck(slot: Slot, delayMs: number): void {
    if (closed || slot.retry) return;
    slot.retry = setTimeout(() => {
      delete slot.retry;
      void serially(slot, async () => {
        if (closed || slot.state === 'ready') return;
        const next = Math.min(delayMs * 2, deps.retryMaxMs ?? DEFAULT_RETRY_MAX_MS);
        if (slot.active && !slot.active.host.isAlive) {
          // Its worker died and could not be restarted then: try again with a new one.
          const outcome = await activateReplacing(slot, slot.active);
          if (outcome.result === 'failed' || (slot.state as ConnectorState) !== 'ready') scheduleRecheck(slot, next);
          return;
        }
        if (slot.active) {
          const problem = await healthOf(slot.active);
          if (!problem) {
            slot.state = 'ready';
            delete slot.problem;
            log.info({ connector: slot.name }, 'connector healthy again');
          } else scheduleRecheck(slot, next);
          return;
        }
        const pkg = pendingPackages.get(slot.name);
        if (!pkg) return;
        const outcome = await activate(slot, pkg, 'restart');
        if (outcome.result === 'failed' && (outcome.problem?.stage === 'auth' || outcome.problem?.stage === 'health')) scheduleRecheck(slot, next);
      });
    }, delayMs);
    slot.retry.unref();
  }

  /** The package of a connector that never came up, for rechecks. */
  const pendingPackages = new Map<string, StoredPackage>();

  function entryOf(slot: Slot): ConnectorEntry {
    return {
      name: slot.name,
      state: slot.state,
      restarts: slot.restarts,
      ...(slot.active ? { active: slot.active } : {}),
      ...(slot.manifest ? { manifest: slot.manifest } : {}),
      ...(slot.rollbackTo ? { rollbackTo: slot.rollbackTo } : {}),
      ...(slot.lastError ? { lastError: slot.lastError } : {}),
      ...(slot.problem ? { problem: slot.problem } : {}),
    };
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
          const slot = slotFor(folder);
          let pkg: StoredPackage;
          try {
            pkg = deps.store.fromFolder(folder, join(deps.connectorsDir, folder));
          } catch (err) {
            slot.problem = slot.lastError = { stage: 'load', message: (err as Error).message, at: now() };
            record({ connector: folder, action: 'start', result: 'failed', problem: slot.problem });
            return;
          }
          const outcome = await serially(slot, () => activate(slot, pkg, 'start'));
          if (outcome.result === 'failed' && (outcome.problem?.stage === 'auth' || outcome.problem?.stage === 'health')) {
            pendingPackages.set(slot.name, pkg);
            scheduleRecheck(slot, deps.retryMinMs ?? DEFAULT_RETRY_MIN_MS);
          }
        }),
      );
    },

    list: () => [...slots.values()].filter((s) => s.active || s.problem).map(entryOf).sort((a, b) => a.name.localeCompare(b.name)),
    get: (name) => {
      const slot = slots.get(name);
      return slot ? entryOf(slot) : undefined;
    },
    route(capability) {
      const declaring = [...slots.values()].filter((s) => s.manifest?.capabilities.some((c) => c.name === capability));
      const slot = declaring.find((s) => s.active) ?? declaring[0];
      return slot ? entryOf(slot) : undefined;
    },
    bySystem(system) {
      const matching = [...slots.values()].filter((s) => s.manifest?.system === system);
      const slot = matching.find((s) => s.active) ?? matching[0];
      return slot ? entryOf(slot) : undefined;
    },

    lease(name) {
      const slot = slots.get(name);
      const version = slot?.active;
      if (!slot || !version) {
        throw new AppError('CONNECTOR_UNAVAILABLE', `connector ${name} is not loaded: ${slot?.problem?.message ?? 'unknown connector'}`, { connector: name });
      }
      slot.leases.set(version, (slot.leases.get(version) ?? 0) + 1);
      let released = false;
      return {
        version,
        release() {
          if (released) return;
          released = true;
          const left = (slot.leases.get(version) ?? 1) - 1;
          if (left > 0) slot.leases.set(version, left);
          else slot.leases.delete(version);
        },
      };
    },

    reload(name) {
      const slot = slotFor(name);
      return serially(slot, async () => {
        const folder = folderOf(name);
        if (!folder) return record({ connector: name, action: 'reload', result: 'failed', problem: { stage: 'load', message: `no folder ${name} in ${deps.connectorsDir}`, at: now() } });
        return activate(slot, deps.store.fromFolder(name, folder), 'reload');
      });
    },

    install(name, tarball) {
      const slot = slotFor(name);
      return serially(slot, async () => {
        let pkg: StoredPackage;
        try {
          pkg = await deps.store.fromTarball(name, tarball);
        } catch (err) {
          return record({ connector: name, action: 'install', result: 'failed', problem: { stage: 'load', message: (err as Error).message, at: now() } });
        }
        return activate(slot, pkg, 'install');
      });
    },

    rollback(name) {
      const slot = slotFor(name);
      return serially(slot, async () => {
        const target = slot.rollbackTo;
        if (!target) return record({ connector: name, action: 'rollback', result: 'failed', problem: { stage: 'load', message: 'there is no earlier version to roll back to', at: now() } });
        return activate(slot, target, 'rollback');
      });
    },

    remove(name) {
      const slot = slots.get(name);
      if (!slot) return Promise.resolve(record({ connector: name, action: 'remove', result: 'failed', problem: { stage: 'load', message: `no connector ${name}`, at: now() } }));
      return serially(slot, async () => {
        const active = slot.active;
        slots.delete(name);
        delete slot.active;
        if (slot.retry) clearTimeout(slot.retry);
        clearTimeout(slot.stable);
        if (active) await retire(slot, active);
        return record({ connector: name, action: 'remove', result: 'ok', ...(active ? { from: active.version } : {}) });
      });
    },

    async close() {
      closed = true;
      await Promise.allSettled(
        [...slots.values()].map(async (slot) => {
          if (slot.retry) clearTimeout(slot.retry);
          clearTimeout(slot.stable);
          await slot.active?.host.close();
        }),
      );
    },
  };
}
