import type { ConversationEvent, OfferRecord } from '../chat/conversation.types.ts';
import type { OverflowTarget, RoutingDecision } from './routing.types.ts';

/** One offer and how it ended. */
export interface ExplainedOffer extends OfferRecord {
  readonly offeredAt: string;
  /** `open`: still waiting for the agent; `accepted`: the conversation was assigned by it. */
  readonly outcome: 'open' | 'accepted' | 'expired' | 'declined' | 'cancelled';
  readonly endedAt?: string;
  /** Why this agent, in words: the sticky agent, or the least busy eligible one. */
  readonly why: string;
}

/** The answer of `GET /v1/conversations/{id}/routing`: every decision and offer, read from the conversation's own events. */
export interface RoutingExplanation {
  readonly conversationId: string;
  /** The latest decision (rules, facts with their sources and freshness, what was missing); null before it was first routed. */
  readonly decision: RoutingDecision | null;
  /** How many times it was routed (each entry into the queue is routed again). */
  readonly decisions: number;
  readonly offers: readonly ExplainedOffer[];
  readonly overflows: readonly { readonly at: string; readonly fromGroup?: string; readonly to: OverflowTarget; readonly reason: string }[];
  /** The last assignment (by an offer, or taken by an agent). */
  readonly assigned: { readonly agentId: string; readonly offerId?: string; readonly at: string } | null;
}

/** Why the chosen agent won, from the claim's record. */
export function whyChosen(offer: OfferRecord): string {
  const chosen = offer.candidates.find((c) => c.agentId === offer.agentId);
  const load = chosen === undefined ? '' : ` (${chosen.load}/${chosen.maxConcurrent} conversations)`;
  if (offer.reason === 'sticky') return `${offer.agentId} served this customer last and was free${load}`;
  const others = offer.candidates.length - 1;
  const tie = offer.candidates.filter((c) => chosen !== undefined && c.load === chosen.load).length > 1 ? ', idle longest among those as busy' : '';
  return `${offer.agentId} was the least busy of ${others + 1} eligible agent${others === 0 ? '' : 's'}${load}${tie}`;
}

/** Folds a conversation's events (as staff see them) into its routing story. Pure. */
export function explainRouting(conversationId: string, events: readonly ConversationEvent[]): RoutingExplanation {
  let decision: RoutingDecision | null = null;
  let decisions = 0;
  const offers = new Map<string, ExplainedOffer>();
  const overflows: RoutingExplanation['overflows'][number][] = [];
  let assigned: RoutingExplanation['assigned'] = null;
  for (const event of events) {
    switch (event.type) {
      case 'conversation.routed':
        decision = event.data.decision;
        decisions += 1;
        break;
      case 'conversation.offered':
        offers.set(event.data.offerId, { ...event.data, offeredAt: event.at, outcome: 'open', why: whyChosen(event.data) });
        break;
      case 'conversation.offer_ended': {
        const offer = offers.get(event.data.offerId);
        if (offer) offers.set(offer.offerId, { ...offer, outcome: event.data.outcome, endedAt: event.at });
        break;
      }
      case 'conversation.overflowed':
        overflows.push({ at: event.at, ...(event.data.fromGroup === undefined ? {} : { fromGroup: event.data.fromGroup }), to: event.data.to, reason: event.data.reason });
        break;
      case 'conversation.assigned': {
        const { agentId, offerId } = event.data;
        assigned = { agentId, ...(offerId === undefined ? {} : { offerId }), at: event.at };
        const offer = offerId === undefined ? undefined : offers.get(offerId);
        if (offer) offers.set(offer.offerId, { ...offer, outcome: 'accepted', endedAt: event.at });
        break;
      }
      default:
        break;
    }
  }
  return { conversationId, decision, decisions, offers: [...offers.values()], overflows, assigned };
}
