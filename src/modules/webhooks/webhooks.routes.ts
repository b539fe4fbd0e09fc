import { Router } from 'express';
import { AppError } from '../../kernel/errors.ts';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { principalOf } from '../http/request-context.ts';
import type { Webhooks } from './webhooks.service.ts';

export interface WebhooksRoutesDeps {
  readonly webhooks: Webhooks;
  readonly validate: ReturnType<typeof createRequestValidator>;
}

/** /v1/webhooks/subscriptions: each API key manages its own subscriptions. */
export function createWebhooksRouter({ webhooks, validate }: WebhooksRoutesDeps): Router {
  const router = Router();
  const owner = (res: Parameters<typeof principalOf>[0]) => principalOf(res).name;

  router.post('/webhooks/subscriptions', validate('createWebhookSubscription'), async (_req, res) => {
    const body = inputOf(res).body as { url: string; secret: string; types: string[] };
    const refused = await webhooks.checkUrl(body.url);
    if (refused !== undefined) {
      throw new AppError('VALIDATION_FAILED', `body: url ${refused}`, { errors: [{ in: 'body', pointer: '/url', message: `url ${refused}` }] });
    }
    res.status(201).json(await webhooks.subscriptions.create(owner(res), body));
  });

  router.get('/webhooks/subscriptions', validate('listWebhookSubscriptions'), async (_req, res) => {
    res.json({ subscriptions: await webhooks.subscriptions.list(owner(res)) });
  });

  router.delete('/webhooks/subscriptions/:id', validate('deleteWebhookSubscription'), async (_req, res) => {
    const id = String(inputOf(res).path.id);
    if (!(await webhooks.subscriptions.remove(owner(res), id))) throw new AppError('NOT_FOUND', `no webhook subscription ${id}`);
    res.status(204).end();
  });
  return router;
}
