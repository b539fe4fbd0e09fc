import type { ServicePrincipal } from '../../kernel/principal.ts';
import type { ConversationEvent, ConversationState } from '../chat/conversation.types.ts';
import type { Conversations } from '../chat/conversations.service.ts';
import type { DispatchContext } from './dispatch-context.ts';
import type { Placement } from './dispatch-placement.ts';

/** Who dispatch reads the queued conversations as: the system, like a service key. */
const DISPATCH_PRINCIPAL: ServicePrincipal = Object.freeze({ kind: 'service', name: 'dispatch', roles: Object.freeze(['api'] as const) });
/** Conversations listed per page while looking for lost ones. */
const PAGE = 200;

export interface RecoveryDeps {
  readonly ctx: DispatchContext;
  readonly placement: Placement;
  readonly conversations: Pick<Conversations, 'list' | 'history'>;
  /** A conversation queued more recently than this may still be being routed (facts, a claim being completed): left alone. */
  readonly graceMs: number;
}

/**
 * Finds queued conversations dispatch has no trace of — a node died between the `queued` event
 * and the group's queue, or a claim was given back after its entry left the queue — and routes
 * them again. Harmless when another node is still routing one: the decision is appended once
 * (client id `route:<queued event id>`) and a second enqueue changes nothing. Returns how many.
 */
export async function recoverQueued({ ctx, placement, conversations, graceMs }: RecoveryDeps): Promise<number> {
  const now = ctx.now();
  let recovered = 0;
  let cursor: string | undefined;
  do {
    const page = await conversations.list(DISPATCH_PRINCIPAL, { state: 'queued' }, { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
    for (const { id, ...view } of page.items) {
      // Asked to leave a message, or offered (an accepted offer may be being completed): not lost.
      if (view.status !== 'queued' || view.awaitingMessage === true || view.offer !== undefined || view.sinceSeq === undefined) continue;
      if ((await ctx.store.entry(id)) !== undefined) continue;
      // The event that queued it is the last that moved it.
      const { events } = await conversations.history(DISPATCH_PRINCIPAL, id, { afterSeq: view.sinceSeq - 1, untilSeq: view.sinceSeq, limit: 1 });
      const queued = events[0];
      if (queued?.type !== 'conversation.queued' || now - Date.parse(queued.at) < graceMs) continue;
      ctx.log.info({ conversationId: id, queuedAt: queued.at }, 'a queued conversation in no queue: routed again');
      const state: ConversationState = { ...view, messageCount: view.messageCount ?? 0 };
      await placement.route(id, state, queued as Extract<ConversationEvent, { type: 'conversation.queued' }>)
        .then(() => void (recovered += 1), (err: unknown) => ctx.log.warn({ err, conversationId: id }, 'could not route a queued conversation again'));
    }
    cursor = page.next;
  } while (cursor !== undefined);
  return recovered;
}
