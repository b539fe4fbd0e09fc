import { AGENT_AWAY_TOPIC, isRefusal, type DispatchContext } from './dispatch-context.ts';
import type { Offers } from './dispatch-offers.ts';
import type { Placement } from './dispatch-placement.ts';

/** Offers one sweep expires or completes at most (the next sweep takes the rest). */
export const SWEEP_BATCH = 200;

export interface SweeperDeps {
  readonly ctx: DispatchContext;
  readonly offers: Offers;
  readonly placement: Placement;
  /** An agent let `maxMisses` offers expire in a row: set it away now (the fan-out tells its sockets). */
  readonly setAway: (agentId: string) => Promise<void>;
}

/**
 * One sweep, run by every node each sweep interval (the store hands each expired or unconfirmed
 * offer to one of them): expired offers end and move on, accepted offers a dead node left
 * unrecorded are completed, waits past a group's threshold overflow, and every group with a
 * queue and agents online is pumped (a pump a node missed, an agent freed elsewhere).
 */
export async function sweep({ ctx, offers, placement, setAway }: SweeperDeps): Promise<void> {
  const { store, log } = ctx;
  const now = ctx.now();
  const toPump = new Set<string>();

  for (const { offer, misses } of await store.expire(now, SWEEP_BATCH)) {
    toPump.add(offer.group);
    log.info({ conversationId: offer.conversationId, offerId: offer.offerId, agentId: offer.agentId, misses }, 'offer expired');
    await ctx.conversations().dispatch(offer.conversationId, { type: 'end_offer', offerId: offer.offerId, agentId: offer.agentId, outcome: 'expired' }, `offer:${offer.offerId}:ended`)
      .catch((err: unknown) => (isRefusal(err) ? undefined : log.warn({ err, offerId: offer.offerId }, 'could not record an expired offer')));
    if (misses >= ctx.config.maxMisses) {
      log.warn({ agentId: offer.agentId, misses }, 'agent let offers expire in a row: set away');
      await setAway(offer.agentId);
      await ctx.fanout.signal(AGENT_AWAY_TOPIC, { agentId: offer.agentId, reason: 'missed_offers' });
    }
  }

  for (const offer of await store.unconfirmed(now, ctx.config.unconfirmedAfterMs, SWEEP_BATCH)) {
    log.info({ conversationId: offer.conversationId, offerId: offer.offerId, agentId: offer.agentId }, 'completing an accepted offer left unrecorded');
    if (!(await offers.complete(offer).catch((err: unknown) => void log.warn({ err, offerId: offer.offerId }, 'could not complete an accepted offer')))) toPump.add(offer.group);
  }

  const rules = await ctx.rules();
  for (const [group, policy] of Object.entries(rules.groups ?? {})) {
    const limit = policy.overflow?.whenWaitExceeds;
    if (limit === undefined) continue;
    for (const entry of await store.queue(group, ctx.config.scanDepth)) {
      if (now - entry.enqueuedAtMs <= limit.afterMs) continue;
      // Only the node whose dequeue takes the entry moves it.
      const taken = await store.dequeue(entry.conversationId);
      if (taken === undefined) continue;
      const { conversationId: _id, group: _group, rank: _rank, excluded: _excluded, ...wants } = taken;
      await placement.overflow(entry.conversationId, group, limit.to, wants, 'wait_exceeded').catch(async (err: unknown) => {
        // Nothing recorded: it waits where it was, and the next sweep tries again.
        log.warn({ err, conversationId: entry.conversationId }, 'wait-exceeded overflow failed');
        await store.enqueue(taken);
      });
    }
  }

  for (const stats of await store.stats(now)) if (stats.queued > 0 && stats.agents.online > 0) toPump.add(stats.group);
  await Promise.all([...toPump].map((group) => ctx.pump(group)));
}
