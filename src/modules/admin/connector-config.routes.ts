import { Router, type Response } from 'express';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { contextOf, principalOf } from '../http/request-context.ts';
import { answerOutcome } from './admin.routes.ts';
import type { ConfigActor, ConnectorConfigs } from './connector-configs.ts';

export interface ConnectorConfigRoutesDeps {
  readonly configs: ConnectorConfigs;
  readonly validate: ReturnType<typeof createRequestValidator>;
}

/** /v1/admin/connectors/{name}/config: a connector's run-time config (admin key); a change answers like a reload. */
export function createConnectorConfigRouter({ configs, validate }: ConnectorConfigRoutesDeps): Router {
  const router = Router();
  const name = (res: Response) => String(inputOf(res).path.name);
  const who = (res: Response): ConfigActor => {
    const ctx = contextOf(res);
    return { actor: principalOf(res).name, requestId: ctx.trace.requestId, traceId: ctx.trace.traceId };
  };
  router.get('/connectors/:name/config', validate('getConnectorConfig'), (_req, res) => {
    res.json(configs.view(name(res)));
  });
  router.put('/connectors/:name/config', validate('setConnectorConfig'), async (_req, res) => {
    const { config } = inputOf(res).body as { config: Record<string, unknown> };
    answerOutcome(res, await configs.set(name(res), config, who(res)));
  });
  router.delete('/connectors/:name/config', validate('deleteConnectorConfig'), async (_req, res) => {
    answerOutcome(res, await configs.clear(name(res), who(res)));
  });
  return router;
}
