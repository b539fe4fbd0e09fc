import express, { Router, type Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { LifecycleOutcome } from '../connectors/registry.ts';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { contextOf, principalOf } from '../http/request-context.ts';
import type { Lifecycle, LifecycleCommand } from '../connectors/lifecycle.ts';

export interface AdminRoutesDeps {
  readonly lifecycle: Lifecycle;
  readonly audit: AuditLog;
  readonly validate: ReturnType<typeof createRequestValidator>;
  readonly uploadLimitBytes: number;
}

/**
 * A change that failed answers 409 with why, and what serves now: the version it would have
 * replaced (`from`) keeps serving, or, for a connector that never loaded, nothing does.
 */
export function answerOutcome(res: Response, outcome: LifecycleOutcome): void {
  if (outcome.result === 'failed') {
    if (outcome.action === 'remove') throw new AppError('NOT_FOUND', outcome.problem?.message ?? `no connector ${outcome.connector}`);
    const serving = outcome.from ? `version ${outcome.from} keeps serving` : `no version of ${outcome.connector} is serving`;
    throw new AppError('LIFECYCLE_FAILED', `${outcome.action} of ${outcome.connector} failed at ${outcome.problem?.stage}: ${outcome.problem?.message}; ${serving}`, {
      connector: outcome.connector,
      action: outcome.action,
      ...(outcome.problem ? { stage: outcome.problem.stage } : {}),
      ...(outcome.from ? { from: outcome.from } : {}),
      ...(outcome.to ? { to: outcome.to } : {}),
    });
  }
  res.json({ connector: outcome.connector, action: outcome.action, ...(outcome.from ? { from: outcome.from } : {}), ...(outcome.to ? { to: outcome.to } : {}), result: 'ok', ...(outcome.warnings ? { warnings: outcome.warnings } : {}) });
}

/** /v1/admin: connector lifecycle (reload, install, rollback, remove) and the audit trail. */
export function createAdminRouter(deps: AdminRoutesDeps): Router {
  const router = Router();
  const who = (res: Response) => {
    const ctx = contextOf(res);
    return { actor: principalOf(res).name, requestId: ctx.trace.requestId, traceId: ctx.trace.traceId };
  };
  const run = async (res: Response, command: LifecycleCommand) => answerOutcome(res, await deps.lifecycle.execute(command));
  const name = (res: Response) => String(inputOf(res).path.name);

  router.post('/connectors/:name/reload', deps.validate('reloadConnector'), (_req, res) => run(res, { action: 'reload', connector: name(res), ...who(res) }));
  router.post('/connectors/:name/rollback', deps.validate('rollbackConnector'), (_req, res) => run(res, { action: 'rollback', connector: name(res), ...who(res) }));
  router.delete('/connectors/:name', deps.validate('removeConnector'), (_req, res) => run(res, { action: 'remove', connector: name(res), ...who(res) }));
  router.put(
    '/connectors/:name',
    (req, _res, next) => next(req.is(['application/gzip', 'application/x-gzip', 'application/octet-stream']) ? undefined : new AppError('UNSUPPORTED_MEDIA_TYPE', 'upload the output of npm pack as application/gzip')),
    express.raw({ type: () => true, limit: deps.uploadLimitBytes }),
    deps.validate('installConnector'),
    (req, res) => {
      const tarball = req.body as Buffer;
      if (!Buffer.isBuffer(tarball) || tarball.length === 0) throw new AppError('VALIDATION_FAILED', 'the body must be a package tarball (npm pack)');
      return run(res, { action: 'install', connector: name(res), tarball, ...who(res) });
    },
  );
  router.get('/audit', deps.validate('listAudit'), async (_req, res) => {
    res.json({ records: await deps.audit.recent(Number(inputOf(res).query.limit)) });
  });
  return router;
}
