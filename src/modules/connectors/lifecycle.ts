import type { Logger } from '../../kernel/logger.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { ConnectorRegistry, LifecycleOutcome, LifecycleWarning } from './registry.ts';

/**
 * A connector lifecycle change, as a command: today it runs on this node; the events work sends
 * the same command over the bus so that every node runs it.
 */
export type LifecycleCommand =
  | { readonly action: 'reload' | 'rollback' | 'remove'; readonly connector: string; readonly actor: string; readonly requestId?: string; readonly traceId?: string }
  | { readonly action: 'install'; readonly connector: string; readonly tarball: Buffer; readonly actor: string; readonly requestId?: string; readonly traceId?: string };

/** Runs lifecycle commands and writes the audit record of each. */
export interface Lifecycle {
  execute(command: LifecycleCommand): Promise<LifecycleOutcome>;
}

export function createLifecycle(deps: { registry: ConnectorRegistry; audit: AuditLog; log: Logger }): Lifecycle {
  const log = deps.log.child({ module: 'lifecycle' });
  return {
    async execute(command) {
      const { registry } = deps;
      const outcome =
        command.action === 'install' ? await registry.install(command.connector, command.tarball)
        : command.action === 'reload' ? await registry.reload(command.connector)
        : command.action === 'rollback' ? await registry.rollback(command.connector)
        : await registry.remove(command.connector);
      await deps.audit
        .append({
          at: new Date().toISOString(),
          actor: command.actor,
          action: command.action,
          connector: command.connector,
          ...(outcome.from ? { from: outcome.from } : {}),
          ...(outcome.to ? { to: outcome.to } : {}),
          result: outcome.result,
          ...(outcome.problem ? { problem: { stage: outcome.problem.stage, message: outcome.problem.message } } : {}),
          ...(command.requestId ? { requestId: command.requestId } : {}),
          ...(command.traceId ? { traceId: command.traceId } : {}),
        })
        .catch((err: unknown) => log.error({ err, connector: command.connector }, 'could not write the audit record'));
      const warnings = outcome.result === 'ok' && outcome.action !== 'remove' ? ambiguities(registry, command.connector) : [];
      for (const w of warnings) log.warn({ connector: command.connector, capability: w.capability, connectors: w.connectors, servedBy: w.servedBy }, 'capability declared by several connectors without an owner');
      return warnings.length > 0 ? { ...outcome, warnings } : outcome;
    },
  };
}

/** The capabilities `connector` now shares with another connector, with no owner configured. */
export function ambiguities(registry: ConnectorRegistry, connector: string): LifecycleWarning[] {
  return registry
    .sharedCapabilities()
    .filter((s) => s.ambiguous && s.connectors.includes(connector))
    .map((s) => ({
      code: 'CAPABILITY_AMBIGUOUS',
      capability: s.capability,
      connectors: s.connectors,
      servedBy: s.servedBy,
      message: `${s.capability} is declared by ${s.connectors.join(' and ')}; calls go to ${s.servedBy}. Name its owner in OMNIGATE_CAPABILITY_OWNERS (or remove one).`,
    }));
}
