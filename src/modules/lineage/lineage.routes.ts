import { Router } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Principal } from '../../kernel/principal.ts';
import type { LineageStore } from '../../ports/lineage-store.ts';
import type { Conversations } from '../chat/conversations.service.ts';
import { participant } from '../chat/visibility.ts';
import { inputOf, type createRequestValidator } from '../http/openapi-validator.ts';
import { principalOf } from '../http/request-context.ts';
import { callView, messageTraces } from './lineage-views.ts';

export interface LineageRoutesDeps {
  readonly store: Pick<LineageStore, 'byConversation' | 'byRecord'>;
  readonly conversations: Pick<Conversations, 'get'>;
  readonly validate: ReturnType<typeof createRequestValidator>;
  /** Jaeger's UI: each step then links to its trace there. */
  readonly jaegerUiUrl?: string;
}

const isSupervisor = (p: Principal) => p.kind === 'agent' && p.roles.includes('supervisor');

/**
 * Lineage both ways: `GET /v1/conversations/{id}/trace` (what each message caused, for staff who
 * may see the conversation: its assigned agent, supervisors, services; anyone else 404 as for a
 * conversation that is not there) and `GET /v1/lineage/{system}/{id}` (who touched a record:
 * supervisors and services; anyone else 403).
 */
export function createLineageRouter({ store, conversations, validate, jaegerUiUrl }: LineageRoutesDeps): Router {
  const router = Router();
  const pageOf = (query: Record<string, unknown>) => ({ limit: query.limit as number, ...(typeof query.cursor === 'string' ? { cursor: query.cursor } : {}) });

  router.get('/conversations/:conversationId/trace', validate('getConversationTrace'), async (_req, res) => {
    const p = principalOf(res);
    const { path, query } = inputOf(res);
    const conversationId = String(path.conversationId);
    const conversation = await conversations.get(p, conversationId);
    // Its participants (the agent it is assigned to, or was last; supervisors) and services; a visitor never.
    if (p.kind !== 'service' && !participant(p, conversation)) throw new AppError('NOT_FOUND', `no conversation ${conversationId}`);
    const page = await store.byConversation(conversationId, pageOf(query));
    res.json({ conversationId, messages: messageTraces(page.items, jaegerUiUrl), ...(page.next ? { next: page.next } : {}) });
  });

  router.get('/lineage/:system/:id', validate('getRecordLineage'), async (_req, res) => {
    const p = principalOf(res);
    if (p.kind !== 'service' && !isSupervisor(p)) throw new AppError('FORBIDDEN', "a record's lineage is for supervisors and services");
    const { path, query } = inputOf(res);
    const record = { system: String(path.system), id: String(path.id) };
    const page = await store.byRecord(record, pageOf(query));
    res.json({ ...record, items: page.items.map((entry) => callView(entry, jaegerUiUrl)), ...(page.next ? { next: page.next } : {}) });
  });
  return router;
}
