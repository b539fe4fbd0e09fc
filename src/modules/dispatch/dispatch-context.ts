import type { DispatchConfig } from '../../config/dispatch-config.ts';
import { isAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { ChatFanout } from '../../ports/chat-fanout.ts';
import type { DispatchStore } from '../../ports/dispatch-store.ts';
import type { Classification, ConversationState } from '../chat/conversation.types.ts';
import type { Conversations } from '../chat/conversations.service.ts';
import type { BusinessHours, Facts, GatheredFacts, GroupPolicy, RoutingRules, RuleResult } from './routing.types.ts';

/** Fan-out topic: a frame written to every socket of one agent, on any node (offers). Payload `{ agentId, frame }`. */
export const AGENT_FRAME_TOPIC = 'agent.frame';
/** Fan-out topic: every socket of one agent, on any node, is set away (K missed offers). Payload `{ agentId, reason }`. */
export const AGENT_AWAY_TOPIC = 'agent.away';

/** The conversation routing looks at: its state once queued, and the bot's findings when it handed over. */
export interface RoutingSubject {
  readonly conversationId: string;
  readonly state: ConversationState;
  readonly classification?: Classification;
}

/** What dispatch asks of the conversations: its own commands (`route`, `offer`, `end_offer`, `overflow`, the `accept` of an offer accepted already), idempotent by client id. */
export type DispatchConversations = Pick<Conversations, 'dispatch'>;

/** What dispatch asks of this node's chat sockets: the conversations its visitors follow, and a frame to those visitors. */
export interface DispatchSockets {
  visitorFollowed(): readonly string[];
  sendToVisitors(conversationId: string, type: string, payload: Record<string, unknown>): void;
}

/** The parts the dispatch service's pieces share. */
export interface DispatchContext {
  readonly store: DispatchStore;
  readonly config: DispatchConfig;
  readonly log: Logger;
  readonly now: () => number;
  readonly fanout: Pick<ChatFanout, 'signal'>;
  readonly rules: () => Promise<RoutingRules>;
  readonly facts: (subject: RoutingSubject) => Promise<GatheredFacts>;
  /** The rules on the facts; `group`: the one the widget or a transfer named (rules that name a group override it). */
  readonly evaluate: (rules: RoutingRules, facts: Facts, options?: { readonly group?: string }) => RuleResult;
  readonly isOpen: (hours: BusinessHours, nowMs: number) => boolean;
  readonly conversations: () => DispatchConversations;
  /** Offers every free agent of the group a waiting conversation (coalesced per group on this node). */
  readonly pump: (group: string) => Promise<void>;
}

/** A group's policy from the rules (none: always open, no overflow). */
export const policyOf = (rules: RoutingRules, group: string): GroupPolicy => rules.groups?.[group] ?? {};

/** The key sticky routing remembers an agent by: the verified customer, else the visitor. */
export function customerKeyOf(state: ConversationState): string | undefined {
  if (state.visitor?.customerId !== undefined) return `customer:${state.visitor.customerId}`;
  return state.visitor === undefined ? undefined : `visitor:${state.visitor.id}`;
}

/** The conversation moved on (closed, taken, refused): dispatch's step no longer applies to it. Anything else (Redis away, a lost race) may pass. */
export function isRefusal(err: unknown): boolean {
  return isAppError(err) && ['INVALID_TRANSITION', 'NOT_FOUND', 'CONVERSATION_ALREADY_ASSIGNED', 'OFFER_EXPIRED', 'FORBIDDEN', 'VALIDATION_FAILED'].includes(err.code);
}
