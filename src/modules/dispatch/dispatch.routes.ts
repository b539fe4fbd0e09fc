import { Router } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { ConversationEvent } from '../chat/conversation.types.ts';
import type { Conversations } from '../chat/conversations.service.ts';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { principalOf } from '../http/request-context.ts';
import { explainRouting } from './routing-explanation.ts';

/** Events read per page while the explanation is gathered. */
const PAGE = 1_000;

export interface DispatchRoutesDeps {
  readonly conversations: Pick<Conversations, 'history' | 'authorize'>;
  readonly validate: ReturnType<typeof createRequestValidator>;
}

/** GET /v1/conversations/{id}/routing: why a conversation went where it went (staff only). */
export function createDispatchRouter({ conversations, validate }: DispatchRoutesDeps): Router {
  const router = Router();
  router.get('/conversations/:conversationId/routing', validate('getConversationRouting'), async (_req, res) => {
    const p = principalOf(res);
    const conversationId = String(inputOf(res).path.conversationId);
    // A visitor learns nothing of others' conversations (404), and routing of its own is internal (403).
    await conversations.authorize(p, conversationId);
    if (p.kind === 'visitor') throw new AppError('FORBIDDEN', 'routing detail is for staff only');
    const events: ConversationEvent[] = [];
    for (let afterSeq = 0, more = true; more;) {
      const page = await conversations.history(p, conversationId, { afterSeq, limit: PAGE });
      events.push(...page.events);
      more = page.hasMore && page.lastSeq > afterSeq;
      afterSeq = page.lastSeq;
    }
    res.json(explainRouting(conversationId, events));
  });
  return router;
}
