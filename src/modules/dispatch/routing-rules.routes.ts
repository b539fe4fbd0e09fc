import { Router } from 'express';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { contextOf, principalOf } from '../http/request-context.ts';
import type { RoutingRulesStore } from './routing-rules-store.ts';

export interface RoutingRulesRoutesDeps {
  readonly rules: RoutingRulesStore;
  readonly validate: ReturnType<typeof createRequestValidator>;
}

/** /v1/admin/routing-rules: read and replace the routing rules every node uses (admin key). */
export function createRoutingRulesRouter({ rules, validate }: RoutingRulesRoutesDeps): Router {
  const router = Router();
  router.get('/routing-rules', validate('getRoutingRules'), async (_req, res) => {
    res.json(await rules.stored());
  });
  router.put('/routing-rules', validate('putRoutingRules'), async (_req, res) => {
    const stored = await rules.put(inputOf(res).body);
    contextOf(res).log.info({ version: stored.rules.version, actor: principalOf(res).name }, 'routing rules replaced');
    res.json(stored);
  });
  return router;
}
