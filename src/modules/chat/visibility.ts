import { AppError } from '../../kernel/errors.ts';
import type { Principal } from '../../kernel/principal.ts';
import type { Actor, ConversationEvent, ConversationState } from './conversation.types.ts';

/** A conversation as a principal may see it: staff see the whole state, a visitor neither routing nor internal counts. */
export type ConversationView = { readonly id: string } & Omit<ConversationState, 'messageCount'> & { readonly messageCount?: number };

/** Who a principal acts as in a conversation: a service acts as the system, under its key's name. */
export function actorOf(p: Principal): Actor {
  switch (p.kind) {
    case 'visitor':
      return { kind: 'visitor', id: p.visitorId };
    case 'agent':
      return { kind: 'agent', id: p.agentId };
    case 'service':
      return { kind: 'system', id: p.name };
  }
}

/**
 * What a principal may see of an event: the event itself, or undefined. Internal events (notes,
 * routing detail such as queue reasons, groups and transfers, bot findings, snoozes) never reach a
 * visitor; staff see everything. Pure: the same rule for history, /events, replays and sockets.
 */
export function visibleTo(p: Principal, event: ConversationEvent): ConversationEvent | undefined {
  return p.kind !== 'visitor' || event.visibility === 'public' ? event : undefined;
}

/** Whether a principal may follow a conversation: a visitor its own only; agents, supervisors and services all (for now). */
export function maySee(p: Principal, state: Pick<ConversationState, 'visitor'>): boolean {
  return p.kind !== 'visitor' || state.visitor?.id === p.visitorId;
}

/** NOT_FOUND unless the conversation exists and the principal may see it (a visitor learns nothing of others' conversations). */
export function assertMaySee(p: Principal, conversationId: string, state: ConversationState): void {
  if (state.status === 'none' || !maySee(p, state)) throw new AppError('NOT_FOUND', `no conversation ${conversationId}`);
}

/** The state as a principal may see it: a visitor sees no group, bot, bot findings, snooze, priority, offer or internal count, and a snoozed conversation as assigned. */
export function viewFor(p: Principal, conversationId: string, state: ConversationState): ConversationView {
  if (p.kind !== 'visitor') return { id: conversationId, ...state };
  const { group: _group, bot: _bot, snoozedUntilMs: _snoozed, messageCount: _count, priority: _priority, offer: _offer, botFindings: _findings, ...shown } = state;
  return { id: conversationId, ...shown, status: state.status === 'pending' ? 'assigned' : state.status };
}

/**
 * Whether a principal takes part in a conversation, so that it may act for it elsewhere (a query
 * with `X-Conversation-Id`, which lineage records under the conversation): the agent it is assigned
 * to (its last assignee, once closed), or a supervisor who may see it. Not another agent, not a
 * service key, not a visitor, and nobody for a conversation that does not exist.
 */
export function participant(p: Principal, state: Pick<ConversationState, 'status' | 'agentId' | 'visitor'>): boolean {
  if (state.status === 'none' || p.kind !== 'agent') return false;
  return p.roles.includes('supervisor') ? maySee(p, state) : state.agentId === p.agentId;
}
