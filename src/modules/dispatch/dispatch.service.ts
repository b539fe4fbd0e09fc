import { setTimeout as delay } from 'node:timers/promises';
import type { DispatchConfig } from '../../config/dispatch-config.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { ChatFanout } from '../../ports/chat-fanout.ts';
import type { DispatchStore, Offer } from '../../ports/dispatch-store.ts';
import type { PresenceStore } from '../../ports/presence-store.ts';
import type { ConversationEvent, ConversationState } from '../chat/conversation.types.ts';
import type { Conversations } from '../chat/conversations.service.ts';
import type { Dispatcher } from '../chat/dispatcher.ts';
import type { AgentDirectory } from '../identity/agent-directory.ts';
import { createDispatchAgents } from './dispatch-agents.ts';
import { customerKeyOf, type DispatchContext, type DispatchConversations, type DispatchSockets, type RoutingSubject } from './dispatch-context.ts';
import { createOffers } from './dispatch-offers.ts';
import { createPlacement } from './dispatch-placement.ts';
import { recoverQueued } from './dispatch-recovery.ts';
import { sweep } from './dispatch-sweeper.ts';
import { createQueuePositions } from './queue-positions.ts';
import type { BusinessHours, Facts, GatheredFacts, RoutingRules, RuleResult } from './routing.types.ts';

/** Tries at syncing an agent after a presence change or a directory edit (250, 500 ms apart) before it waits for the periodic resync. */
const AGENT_SYNC_ATTEMPTS = 3;
const AGENT_SYNC_RETRY_MS = 250;

export interface DispatchServiceDeps {
  readonly store: DispatchStore;
  readonly config: DispatchConfig;
  readonly log: Logger;
  /** The rules in force (shared by the nodes, reloadable without a restart). */
  readonly rules: () => RoutingRules | Promise<RoutingRules>;
  /** What routing knows of a conversation, never throwing and bounded by the facts timeout (a slow source is its last known copy, stale, else missing). */
  readonly facts: (subject: RoutingSubject) => Promise<GatheredFacts>;
  readonly evaluate: (rules: RoutingRules, facts: Facts, options?: { readonly group?: string }) => RuleResult;
  readonly isOpen: (hours: BusinessHours, nowMs: number) => boolean;
  readonly directory: Pick<AgentDirectory, 'get' | 'list'>;
  readonly presence: Pick<PresenceStore, 'get' | 'list'>;
  readonly fanout: Pick<ChatFanout, 'signal'>;
  /** The conversations service (built after this one: it takes the dispatcher). */
  readonly conversations: () => DispatchConversations & Pick<Conversations, 'list' | 'history'>;
  readonly now?: () => number;
  /**
   * FAULT INJECTION (tests only; `OMNIGATE_FAULT_KILL_AFTER_CLAIM`): called right after the store took
   * an agent's accept, before its `assigned` event is appended. The fault tests pass one that kills
   * the node there; absent in production.
   */
  readonly afterClaim?: (offer: Offer) => void;
}

/** The routing dispatcher and the loops that keep dispatch moving on this node. */
export interface DispatchService {
  readonly dispatcher: Dispatcher;
  /** Syncs the agents, then runs the sweeper and (with `sockets`) the visitors' positions tick. */
  start(sockets?: DispatchSockets): Promise<void>;
  /** An agent's presence changed on this node, or its profile in the directory: dispatch reads both again and follows. */
  agentChanged(agentId: string): Promise<void>;
  /** Stops the loops and waits for the routing and sweeps under way. */
  close(): Promise<void>;
}

/** Where the agent holds the conversation (assigned, or snoozed with it). */
const holderOf = (state: ConversationState): string | undefined => (state.status === 'assigned' || state.status === 'pending' ? state.agentId : undefined);

/**
 * Routing dispatch (`OMNIGATE_DISPATCH=routing`): told of every append, it routes a conversation
 * that enters the queue (facts, rules, the `route` event, overflow, the group's queue), offers
 * waiting conversations to free agents (`store.claim`, the `offered` event, an `offer` frame),
 * keeps agents' load in step with the conversations, and sweeps expired and unconfirmed offers.
 * Any node may do any of it: claims are atomic in the store, stream appends idempotent by offer id.
 */
export function createDispatchService(deps: DispatchServiceDeps): DispatchService {
  const log = deps.log.child({ module: 'dispatch' });
  const { store } = deps;
  const pumping = new Set<string>();
  const again = new Set<string>();
  const running = new Set<Promise<unknown>>();
  let closed = false;

  const ctx: DispatchContext = {
    store, config: deps.config, log, now: deps.now ?? Date.now, fanout: deps.fanout, facts: deps.facts, evaluate: deps.evaluate, isOpen: deps.isOpen,
    rules: async () => deps.rules(), conversations: deps.conversations, pump,
  };
  const placement = createPlacement(ctx);
  const offers = createOffers(ctx);
  const agents = createDispatchAgents({ ctx, directory: deps.directory, presence: deps.presence });
  const positions = createQueuePositions(store, ctx.now);

  /** Runs in the background, tracked so that close() waits for it; its failure is logged. */
  function track(what: string, work: () => Promise<unknown>, fields: Record<string, unknown> = {}): void {
    if (closed) return;
    const p = work().catch((err: unknown) => log.warn({ err, ...fields }, `${what} failed`)).finally(() => running.delete(p));
    running.add(p);
  }

  /** One pump per group at a time on this node; a pump asked for meanwhile runs once more after it. */
  async function pump(group: string): Promise<void> {
    if (pumping.has(group)) return void again.add(group);
    pumping.add(group);
    try {
      do {
        again.delete(group);
        await offers.pumpOnce(group);
      } while (again.has(group) && !closed);
    } finally {
      pumping.delete(group);
    }
  }

  async function groupsOf(agentId: string): Promise<readonly string[]> {
    return (await deps.directory.get(agentId))?.groups ?? [];
  }

  async function onAppended(conversationId: string, before: ConversationState, after: ConversationState, events: readonly ConversationEvent[]): Promise<void> {
    const freed: string[] = [];
    for (const event of events) {
      if (event.type !== 'conversation.assigned') continue;
      const { agentId, offerId } = event.data;
      if (offerId !== undefined) await store.confirm(offerId);
      // Taken without dispatch (an agent reopening its conversation): it counts in the agent's load all the same.
      else await store.take(conversationId, agentId, { nowMs: ctx.now(), force: true, ...(after.group === undefined ? {} : { group: after.group }) }).then((o) => store.confirm(o.offerId));
      const key = customerKeyOf(after);
      if (key !== undefined) await store.rememberAgent(key, agentId);
    }
    const heldBefore = holderOf(before);
    if (heldBefore !== undefined && heldBefore !== holderOf(after) && (await store.release(conversationId, heldBefore))) freed.push(heldBefore);
    if (before.status === 'queued' && after.status !== 'queued' && after.status !== 'assigned') await store.dequeue(conversationId);
    // An offer still on record once the conversation left the queue (another agent took it, it closed) is over: the store cancelled it.
    const stale = after.status === 'queued' ? undefined : after.offer;
    if (stale !== undefined) {
      track('ending an offer', () => deps.conversations().dispatch(conversationId, { type: 'end_offer', offerId: stale.offerId, agentId: stale.agentId, outcome: 'cancelled' }, `offer:${stale.offerId}:ended`), { conversationId });
    }
    const queued = after.status === 'queued' ? events.findLast((e) => e.type === 'conversation.queued') : undefined;
    if (queued?.type === 'conversation.queued') {
      // Routing waits for business data (bounded by the facts timeout): the append that queued it does not.
      track('routing', () => placement.route(conversationId, after, queued), { conversationId });
    }
    for (const agentId of freed) for (const group of await groupsOf(agentId)) track('pump', () => pump(group), { group });
  }

  const dispatcher: Dispatcher = {
    name: 'routing',
    appended: onAppended,
    async claim(conversationId, state, { agentId, offerId, force }) {
      if (offerId !== undefined) {
        const offer = await store.accept(offerId, agentId, ctx.now());
        deps.afterClaim?.(offer);
        await store.resetMisses(agentId);
        return { offerId: offer.offerId };
      }
      const offer = await store.take(conversationId, agentId, { nowMs: ctx.now(), force, ...(state.group === undefined ? {} : { group: state.group }) });
      return { offerId: offer.offerId };
    },
    async unclaim(conversationId, agentId, offerId) {
      // The append failed: refused (closed, taken meanwhile), or its outcome unknown (Redis away). The
      // claim is completed now if the conversation still takes it (idempotent by the offer id), else given back.
      if (await offers.complete({ offerId, conversationId, agentId })) return;
      for (const group of await groupsOf(agentId)) track('pump', () => pump(group), { group });
    },
    async decline(_conversationId, agentId, offerId) {
      const offer = await store.decline(offerId, agentId, ctx.now());
      await store.resetMisses(agentId);
      track('pump', () => pump(offer.group), { group: offer.group });
    },
  };

  const timers: NodeJS.Timeout[] = [];
  /** Runs `work` every `everyMs`, never two at once on this node. */
  function every(what: string, everyMs: number, work: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || closed) return;
      busy = true;
      track(what, () => work().finally(() => (busy = false)));
    }, everyMs);
    timer.unref();
    timers.push(timer);
  }

  return {
    dispatcher,
    async start(sockets) {
      await agents.syncAll().catch((err: unknown) => log.warn({ err }, 'could not sync the agents at start: presence changes will'));
      every('dispatch sweep', deps.config.sweepIntervalMs, () => sweep({ ctx, offers, placement, setAway: agents.setAway }));
      // Routing in progress (facts, a claim being completed) is left its time before a conversation counts as lost.
      const graceMs = 2 * Math.max(deps.config.factsTimeoutMs, deps.config.unconfirmedAfterMs) + 2 * deps.config.sweepIntervalMs;
      const recover = () => recoverQueued({ ctx, placement, conversations: deps.conversations(), graceMs });
      if (deps.config.recoverIntervalMs > 0) {
        track('recovery', recover);
        every('recovery', deps.config.recoverIntervalMs, recover);
      }
      if (deps.config.agentResyncIntervalMs > 0) every('agent resync', deps.config.agentResyncIntervalMs, () => agents.syncAll());
      if (sockets) every('queue positions', deps.config.positionIntervalMs, () => positions.tick(sockets));
      log.info({ sweepIntervalMs: deps.config.sweepIntervalMs, offerTimeoutMs: deps.config.offerTimeoutMs }, 'routing dispatch started');
    },
    async agentChanged(agentId) {
      // A sync lost to a passing Redis failure would leave the agent as it was (offline: no offers); the periodic resync is the last resort.
      for (let attempt = 0; ; attempt++) {
        try {
          return await agents.sync(agentId);
        } catch (err) {
          if (closed || attempt + 1 >= AGENT_SYNC_ATTEMPTS) throw err;
          log.warn({ err, agentId, attempt }, 'dispatch could not sync an agent: trying again');
          await delay(AGENT_SYNC_RETRY_MS * 2 ** attempt);
        }
      }
    },
    async close() {
      closed = true;
      for (const timer of timers) clearInterval(timer);
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}
