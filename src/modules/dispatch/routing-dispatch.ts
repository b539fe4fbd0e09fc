import type { DispatchConfig } from '../../config/dispatch-config.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { StaleCache } from '../../ports/cache.ts';
import type { ChatFanout } from '../../ports/chat-fanout.ts';
import type { DispatchStore, Offer } from '../../ports/dispatch-store.ts';
import type { PresenceStore } from '../../ports/presence-store.ts';
import type { Conversations } from '../chat/conversations.service.ts';
import { createManualDispatcher, type Dispatcher } from '../chat/dispatcher.ts';
import type { AgentDirectory } from '../identity/agent-directory.ts';
import type { ContextService } from '../query/context.service.ts';
import { isOpen } from './business-hours.ts';
import type { DispatchConversations } from './dispatch-context.ts';
import { createDispatchService, type DispatchService } from './dispatch.service.ts';
import { createRoutingFacts } from './routing-facts.ts';
import { evaluateRules } from './routing-rules.ts';
import type { RoutingRules } from './routing.types.ts';

export interface DispatchWiringDeps {
  readonly config: DispatchConfig;
  readonly log: Logger;
  readonly store: DispatchStore;
  /** The rules in force (the shared rules store). */
  readonly rules: { get(): Promise<RoutingRules> };
  /** Customer context through the query API: routing's business facts. */
  readonly context: ContextService;
  /** Routing's own facts cache (the cache Redis). */
  readonly factsCache?: StaleCache;
  readonly directory: Pick<AgentDirectory, 'get' | 'list'>;
  readonly presence: Pick<PresenceStore, 'get' | 'list'>;
  readonly fanout: Pick<ChatFanout, 'signal'>;
  readonly conversations: () => DispatchConversations & Pick<Conversations, 'list' | 'history'>;
}

/** The dispatcher the configuration asks for: `manual` (agents pick from the queue), or `routing` with its service (loops, agent sync). */
export function dispatcherFor(deps: DispatchWiringDeps): { readonly dispatcher: Dispatcher; readonly service?: DispatchService } {
  const { config } = deps;
  if (config.mode === 'manual') return { dispatcher: createManualDispatcher() };
  const facts = createRoutingFacts({
    context: deps.context, log: deps.log, timeoutMs: config.factsTimeoutMs, cacheTtlMs: config.factsCacheTtlMs, lastKnownTtlMs: config.factsLastKnownTtlMs,
    ...(deps.factsCache ? { cache: deps.factsCache } : {}),
  });
  const service = createDispatchService({
    store: deps.store, config, log: deps.log, rules: () => deps.rules.get(), evaluate: evaluateRules, isOpen,
    facts: ({ conversationId, state, classification }) => facts.gather(state, { conversationId, ...(classification === undefined ? {} : { classification }) }),
    directory: deps.directory, presence: deps.presence, fanout: deps.fanout, conversations: deps.conversations,
    ...(config.faultKillAfterClaim ? { afterClaim: killAfterClaim(deps.log) } : {}),
  });
  return { dispatcher: service.dispatcher, service };
}

/**
 * FAULT INJECTION (`OMNIGATE_FAULT_KILL_AFTER_CLAIM`, tests only): the node kills itself with
 * SIGKILL right after the store took an accept, before the `assigned` event is appended — a crash
 * at the one step a test cannot otherwise hit on purpose. Nothing runs on the way out.
 */
function killAfterClaim(log: Logger): (offer: Offer) => void {
  log.warn('fault injection on: this node kills itself after the first accept it claims (OMNIGATE_FAULT_KILL_AFTER_CLAIM)');
  return (offer) => {
    log.warn({ offerId: offer.offerId, conversationId: offer.conversationId, agentId: offer.agentId }, 'fault injection: killing this node after the claim');
    process.kill(process.pid, 'SIGKILL');
  };
}
