import type { Logger } from '../../kernel/logger.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { ConnectorRegistry, LifecycleOutcome, LifecycleWarning } from './registry.ts';

/**
 * A connector lifecycle change, as a command: today it runs on this node; the events work sends
 * the same command over the bus so that every node runs it. `configure` loads the connector again
 * with its run-time config as the store holds it now (see src/modules/admin/connector-configs.ts).
 */
export type LifecycleCommand =
  | { readonly action: 'reload' | 'rollback' | 'remove'; readonly connector: string; readonly actor: string; readonly requestId?: string; readonly traceId?: string }
  | { readonly action: 'configure'; readonly connector: string; readonly actor: string; /** The run-time fields now set, for the audit (names only). */ readonly fields?: readonly string[]; readonly requestId?: string; readonly traceId?: string }
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
        : command.action === 'configure' ? await registry.reconfigure(command.connector)
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
          ...(command.action === 'configure' && command.fields ? { fields: command.fields } : {}),
          ...(command.requestId ? { requestId: command.requestId } : {}),
          ...(command.traceId ? { traceId: command.traceId } : {}),
        })
        .catch((err: unknown) => log.error({ err, connector: command.connector }, 'could not write the audit record'));
      const warnings = outcome.result === 'ok' ? ambiguities(registry, command.connector) : [];
      for (const w of warnings) {
        if (w.code === 'CAPABILITY_AMBIGUOUS') log.warn({ connector: command.connector, capability: w.capability, connectors: w.connectors, servedBy: w.servedBy }, 'capability declared by several connectors without an owner');
        else log.warn({ connector: command.connector, capability: w.capability, route: w.route, target: w.connector, reason: w.reason }, 'capability route names a connector that cannot serve it');
      }
      return warnings.length > 0 ? { ...outcome, warnings } : outcome;
    },
  };
}

/**
 * The capabilities `connector` now shares with another connector, with no owner configured; and
 * the broken routes of the routed capabilities it declares or a route names (a removed connector
 * declares nothing, but its routes break).
 */
export function ambiguities(registry: ConnectorRegistry, connector: string): LifecycleWarning[] {
  return registry.sharedCapabilities().flatMap((s): LifecycleWarning[] => {
    const { capability, connectors, servedBy } = s;
    if (s.ambiguous && connectors.includes(connector)) {
      return [{
        code: 'CAPABILITY_AMBIGUOUS', capability, connectors, servedBy,
        message: `${capability} is declared by ${connectors.join(' and ')}; calls go to ${servedBy}. Name its owner in OMNIGATE_CAPABILITY_OWNERS (or remove one).`,
      }];
    }
    const { routing } = s;
    if (!routing || !(connectors.includes(connector) || Object.values(routing.routes).includes(connector) || routing.default === connector)) return [];
    return (s.routeProblems ?? []).map((p) => ({
      code: 'CAPABILITY_ROUTE_BROKEN', capability, connectors, servedBy, ...p,
      message: `${capability} ${p.route === undefined ? 'by default' : `for ${routing.by} "${p.route}"`} goes to ${p.connector}, which ${p.reason === 'not_loaded' ? 'is not loaded' : `does not declare ${capability}`}: such calls fail until it does (or OMNIGATE_CAPABILITY_OWNERS changes).`,
    }));
  });
}
