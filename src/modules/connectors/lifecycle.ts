import type { Logger } from '../../kernel/logger.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { ConnectorRegistry, LifecycleOutcome } from './registry.ts';

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
      return outcome;
    },
  };
}
