import type { Logger } from '../../kernel/logger.ts';
import type { StoredPackage } from './package-store.ts';
import type { ConnectorRegistryDeps, ConnectorState, ConnectorVersion, LifecycleAction, LifecycleOutcome, Problem } from './registry.types.ts';
import { now, type Slot, type Slots } from './slots.ts';

/** What supervision needs of the registry: its table, health checks and the lifecycle steps it retries. */
export interface SupervisionDeps {
  readonly slots: Slots;
  readonly log: Logger;
  readonly settings: Pick<ConnectorRegistryDeps, 'retryMinMs' | 'retryMaxMs' | 'restartResetMs' | 'healthCheckIntervalMs'>;
  healthOf(version: ConnectorVersion): Promise<Problem | undefined>;
  activate(slot: Slot, pkg: StoredPackage, action: LifecycleAction): Promise<LifecycleOutcome>;
  /** Restarts the active version's package in a fresh worker. */
  restart(slot: Slot, dead: ConnectorVersion | undefined): Promise<LifecycleOutcome>;
  /** The package of each connector that never came up, for rechecks. */
  readonly pending: ReadonlyMap<string, StoredPackage>;
}

/** Keeps connectors serving: restarts dead workers with backoff, rechecks failed and unhealthy ones. */
export interface Supervisor {
  onWorkerDeath(slot: Slot, version: ConnectorVersion, reason: string): Promise<void>;
  resetBackoffWhenStable(slot: Slot, version: ConnectorVersion): void;
  scheduleRecheck(slot: Slot, delayMs: number): void;
  /** Runs each ready connector's health check every `healthCheckIntervalMs` (if set); returns the stop. */
  startHealthChecks(): () => void;
  /** The first recheck delay. */
  readonly firstRecheckMs: number;
}

/** The supervisor of one registry. */
export function createSupervisor(deps: SupervisionDeps): Supervisor {
  const { slots, log, settings } = deps;

  /** A worker died (crash, out of memory, blocked loop): restart the same version in a new one. */
  async function onWorkerDeath(slot: Slot, version: ConnectorVersion, reason: string): Promise<void> {
    if (slots.closed || slot.active !== version) return;
    slot.state = 'unhealthy';
    slot.problem = { stage: 'runtime', message: reason, at: now() };
    slot.lastError = slot.problem;
    slot.restarts += 1;
    slot.crashes += 1;
    clearTimeout(slot.stable);
    const delay = Math.min((settings.retryMinMs) / 4 * 2 ** Math.min(slot.crashes - 1, 6), settings.retryMaxMs);
    log.warn({ connector: slot.name, restarts: slot.restarts, delayMs: delay }, 'restarting the connector worker');
    await new Promise((r) => setTimeout(r, delay).unref());
    await slots.serially(slot, async () => {
      if (slots.closed || slot.active !== version) return;
      const outcome = await deps.restart(slot, version);
      if (outcome.result === 'failed') scheduleRecheck(slot, settings.retryMinMs);
    });
  }

  /** A worker that crashed once in a long while is restarted quickly, not after the last storm's delay. */
  function resetBackoffWhenStable(slot: Slot, version: ConnectorVersion): void {
    clearTimeout(slot.stable);
    slot.stable = setTimeout(() => {
      if (slots.closed || slot.active !== version || !version.host.isAlive) return;
      slot.crashes = 0;
      log.info({ connector: slot.name }, 'connector stayed healthy: restart backoff reset');
    }, settings.restartResetMs);
    slot.stable.unref();
  }

  /** A connector that is failed (backend down at start) or unhealthy is retried with backoff. */
  function scheduleRecheck(slot: Slot, delayMs: number): void {
    if (slots.closed || slot.retry) return;
    slot.retry = setTimeout(() => {
      delete slot.retry;
      void slots.serially(slot, async () => {
        if (slots.closed || slot.state === 'ready') return;
        const next = Math.min(delayMs * 2, settings.retryMaxMs);
        if (slot.active && !slot.active.host.isAlive) {
          // Its worker died and could not be restarted then: try again with a new one.
          const outcome = await deps.restart(slot, slot.active);
          if (outcome.result === 'failed' || (slot.state as ConnectorState) !== 'ready') scheduleRecheck(slot, next);
          return;
        }
        if (slot.active) {
          const problem = await deps.healthOf(slot.active);
          if (!problem) {
            slot.state = 'ready';
            delete slot.problem;
            log.info({ connector: slot.name }, 'connector healthy again');
          } else scheduleRecheck(slot, next);
          return;
        }
        const pkg = deps.pending.get(slot.name);
        if (!pkg) return;
        const outcome = await deps.activate(slot, pkg, 'restart');
        if (outcome.result === 'failed' && (outcome.problem?.stage === 'auth' || outcome.problem?.stage === 'health')) scheduleRecheck(slot, next);
      });
    }, delayMs);
    slot.retry.unref();
  }

  /**
   * A backend that stops answering while its connector serves: the connector turns unhealthy
   * (named in /readyz with stage `health`) and is rechecked with backoff until it passes again.
   */
  function startHealthChecks(): () => void {
    const every = settings.healthCheckIntervalMs ?? 0;
    if (every <= 0) return () => {};
    const probing = new Set<Slot>();
    const timer = setInterval(() => {
      for (const slot of slots.byName.values()) {
        const version = slot.active;
        if (slots.closed || probing.has(slot) || slot.state !== 'ready' || !version?.host.isAlive) continue;
        probing.add(slot);
        void deps.healthOf(version).then((problem) => {
          probing.delete(slot);
          if (!problem || slots.closed || slot.active !== version || slot.state !== 'ready') return;
          slot.state = 'unhealthy';
          slot.problem = problem;
          slot.lastError = problem;
          log.warn({ connector: slot.name, problem }, 'connector health check failed: unhealthy until a recheck passes');
          scheduleRecheck(slot, settings.retryMinMs);
        });
      }
    }, every);
    timer.unref();
    return () => clearInterval(timer);
  }

  return { onWorkerDeath, resetBackoffWhenStable, scheduleRecheck, startHealthChecks, firstRecheckMs: settings.retryMinMs };
}
