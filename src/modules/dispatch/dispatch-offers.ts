import type { ClaimOutcome, Offer } from '../../ports/dispatch-store.ts';
import type { OfferRecord } from '../chat/conversation.types.ts';
import { AGENT_FRAME_TOPIC, isRefusal, policyOf, type DispatchContext } from './dispatch-context.ts';

/** One pump claims at most this many offers before it yields (the next sweep goes on). */
export const MAX_CLAIMS_PER_PUMP = 500;

/** Offers: the claim loop of a group, and completing accepted offers on the conversation's stream. */
export interface Offers {
  /** Claims in `group` until nothing matches: each claim becomes an `offered` event and an `offer` frame to the agent (or an assignment, for auto-assign groups). */
  pumpOnce(group: string): Promise<number>;
  /**
   * Appends `assigned` for an accepted offer (idempotent by `offer:<offerId>`) and confirms it; when
   * the conversation refuses (closed meanwhile) the agent's load is given back. True when assigned.
   */
  complete(offer: Pick<Offer, 'offerId' | 'conversationId' | 'agentId'>): Promise<boolean>;
}

/** The stream's record of a claim: who, until when, and why that agent. */
export function offerRecordOf(outcome: ClaimOutcome, autoAssign: boolean): OfferRecord {
  return {
    offerId: outcome.offer.offerId, agentId: outcome.offer.agentId, expiresAt: new Date(outcome.offer.expiresAtMs).toISOString(), autoAssign,
    reason: outcome.reason, candidates: outcome.candidates, passedOver: outcome.passedOver,
  };
}

export function createOffers(ctx: DispatchContext): Offers {
  const log = ctx.log;

  async function complete(offer: Pick<Offer, 'offerId' | 'conversationId' | 'agentId'>): Promise<boolean> {
    try {
      await ctx.conversations().dispatch(offer.conversationId, { type: 'accept', agentId: offer.agentId, offerId: offer.offerId }, `offer:${offer.offerId}`);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      log.info({ conversationId: offer.conversationId, offerId: offer.offerId, agentId: offer.agentId, err }, 'accepted offer refused by the conversation: the agent\'s load is given back');
      await ctx.store.release(offer.conversationId, offer.agentId);
      await ctx.store.confirm(offer.offerId);
      return false;
    }
    await ctx.store.confirm(offer.offerId);
    return true;
  }

  async function deliver(outcome: ClaimOutcome, autoAssign: boolean): Promise<void> {
    const { offer, entry } = outcome;
    const record = offerRecordOf(outcome, autoAssign);
    try {
      await ctx.conversations().dispatch(offer.conversationId, { type: 'offer', offer: record }, `offer:${offer.offerId}:made`);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      // Closed or taken while it waited: it leaves the dispatch, and the agent's load goes down.
      log.debug({ conversationId: offer.conversationId, err }, 'offer refused by the conversation: it leaves the queue');
      await ctx.store.dequeue(offer.conversationId);
      if (autoAssign) await ctx.store.release(offer.conversationId, offer.agentId).then(() => ctx.store.confirm(offer.offerId));
      return;
    }
    log.info({ conversationId: offer.conversationId, group: offer.group, agentId: offer.agentId, offerId: offer.offerId, reason: outcome.reason, autoAssign }, 'conversation offered');
    if (autoAssign) return void (await complete(offer));
    const frame = {
      type: 'offer', conversationId: offer.conversationId, offerId: offer.offerId, group: offer.group, priority: entry.priority,
      expiresAt: record.expiresAt, reason: outcome.reason,
    };
    await ctx.fanout.signal(AGENT_FRAME_TOPIC, { agentId: offer.agentId, frame });
  }

  return {
    complete,
    async pumpOnce(group) {
      const policy = policyOf(await ctx.rules(), group);
      const autoAssign = policy.autoAssign === true;
      const options = { offerTtlMs: policy.offerTimeoutMs ?? ctx.config.offerTimeoutMs, autoAssign, scanDepth: ctx.config.scanDepth };
      let claimed = 0;
      while (claimed < MAX_CLAIMS_PER_PUMP) {
        const outcome = await ctx.store.claim(group, { ...options, nowMs: ctx.now() });
        if (outcome === undefined) break;
        claimed += 1;
        await deliver(outcome, autoAssign).catch((err: unknown) =>
          // The claim stands in Redis: the offer expires and moves on, an accepted one is completed by a sweeper.
          log.warn({ err, conversationId: outcome.offer.conversationId, offerId: outcome.offer.offerId }, 'could not record an offer'));
      }
      return claimed;
    },
  };
}
