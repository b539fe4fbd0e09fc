import { AppError } from '../../kernel/errors.ts';
import type { ConversationEvent, ConversationState, DecidedEvent, DeciderCommand } from './conversation.types.ts';
import { issuersOf, TRANSITIONS, type CommandRules, type DecideContext } from './transitions.ts';

export type { DecideContext } from './transitions.ts';

/** A conversation before its first event. */
export function initialState(): ConversationState {
  return { status: 'none', seq: 0, messageCount: 0, readUpTo: {}, deliveredUpTo: {} };
}

/**
 * What a command does to a conversation in a state: the events to append, or an AppError
 * (FORBIDDEN for an actor kind that may never issue it, INVALID_TRANSITION with `state` and
 * `command` when the state refuses it, CONVERSATION_ALREADY_ASSIGNED for a second claim).
 * Pure: no I/O, no clock (the time comes in `ctx`). An empty answer changes nothing.
 */
export function decide(command: DeciderCommand, state: ConversationState, ctx: DecideContext): DecidedEvent[] {
  const rules = TRANSITIONS[command.type] as CommandRules<DeciderCommand>;
  if (!issuersOf(command.type).has(ctx.actor.kind)) {
    throw new AppError('FORBIDDEN', `${article(ctx.actor.kind)} may not ${command.type} a conversation`, { command: command.type });
  }
  const row = rules.from[state.status];
  const refusal = rules.refuse?.[state.status];
  if (refusal !== undefined) throw new AppError(refusal, `the conversation is already assigned${state.agentId === undefined ? '' : ` to ${state.agentId}`}`, { state: state.status, command: command.type });
  if (row === undefined || !row.by.includes(ctx.actor.kind)) {
    const who = row === undefined ? '' : ` by ${article(ctx.actor.kind)}`;
    throw new AppError('INVALID_TRANSITION', `a conversation that is ${state.status} cannot ${command.type}${who}`, { state: state.status, command: command.type });
  }
  return row.then(command, state, ctx);
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** The state after one event (the fold's step). Pure; an event type it does not know leaves the state as it was but for the seq. */
export function evolve(state: ConversationState, event: ConversationEvent): ConversationState {
  const next: Writable<ConversationState> = { ...state, seq: event.seq, updatedAt: event.at };
  switch (event.type) {
    case 'conversation.created': {
      const { visitor, language, subject, topic, page } = event.data;
      Object.assign(next, { status: 'new', visitor, createdAt: event.at }, defined({ language, subject, topic, page }));
      break;
    }
    case 'conversation.bot_engaged':
      Object.assign(next, { status: 'bot', bot: event.data.bot }, defined({ group: event.data.group }));
      break;
    case 'conversation.queued':
      next.status = 'queued';
      delete next.agentId;
      if (event.data.group !== undefined) next.group = event.data.group;
      if (event.data.findings !== undefined) next.botFindings = event.data.findings;
      break;
    case 'conversation.assigned':
      Object.assign(next, { status: 'assigned', agentId: event.data.agentId });
      // The offer it completes is over; another agent's open offer stays until dispatch ends it (cancelled).
      if (event.data.offerId !== undefined && state.offer?.offerId === event.data.offerId) delete next.offer;
      delete next.awaitingMessage;
      break;
    case 'conversation.routed':
      Object.assign(next, { group: event.data.decision.group, priority: event.data.decision.priority });
      break;
    case 'conversation.offered':
      next.offer = { offerId: event.data.offerId, agentId: event.data.agentId, expiresAt: event.data.expiresAt };
      break;
    case 'conversation.offer_ended':
      if (state.offer?.offerId === event.data.offerId) delete next.offer;
      break;
    case 'conversation.overflowed':
      if ('group' in event.data.to) next.group = event.data.to.group;
      break;
    case 'conversation.message_requested':
      next.awaitingMessage = true;
      break;
    case 'conversation.message_left':
      next.ticketJobId = event.data.ticketJobId;
      delete next.awaitingMessage;
      break;
    case 'conversation.ticket_opened':
      next.ticketId = event.data.ticketId;
      break;
    case 'conversation.transferred':
      // The event that follows it (assigned or queued) says where it went.
      if ('group' in event.data.to) next.group = event.data.to.group;
      break;
    case 'conversation.message_sent':
      next.messageCount = state.messageCount + 1;
      if (event.data.visibility === 'public') next.lastMessage = { seq: event.seq, at: event.at, author: event.data.author.kind };
      break;
    case 'conversation.read':
    case 'conversation.delivered': {
      const key = event.type === 'conversation.read' ? 'readUpTo' : 'deliveredUpTo';
      const participant = `${event.data.participant.kind}:${event.data.participant.id}`;
      next[key] = { ...state[key], [participant]: Math.max(state[key][participant] ?? 0, event.data.upToSeq) };
      break;
    }
    case 'conversation.snoozed':
      next.status = 'pending';
      if (event.data.untilMs === undefined) delete next.snoozedUntilMs;
      else next.snoozedUntilMs = event.data.untilMs;
      break;
    case 'conversation.woke':
      next.status = 'assigned';
      delete next.snoozedUntilMs;
      break;
    case 'conversation.closed':
      Object.assign(next, { status: 'closed', closedAt: event.at, closeReason: event.data.reason });
      delete next.snoozedUntilMs;
      delete next.awaitingMessage;
      break;
    case 'conversation.reopened':
      delete next.closedAt;
      delete next.closeReason;
      break;
  }
  if (MOVES.has(event.type)) next.sinceSeq = event.seq;
  return next;
}

/** The events after which the conversation is somewhere else (another status, another agent). */
const MOVES: ReadonlySet<ConversationEvent['type']> = new Set([
  'conversation.created', 'conversation.bot_engaged', 'conversation.queued', 'conversation.assigned',
  'conversation.snoozed', 'conversation.woke', 'conversation.closed', 'conversation.reopened',
  // Asked to leave a message, the visitor has its whole idle time again to write it.
  'conversation.message_requested',
]);

/** The state after a run of events, from `from` (the initial state by default). */
export const fold = (events: readonly ConversationEvent[], from: ConversationState = initialState()): ConversationState => events.reduce(evolve, from);

const defined = (fields: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined));

const article = (kind: string): string => `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}`;
