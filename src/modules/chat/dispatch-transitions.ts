import { AppError } from '../../kernel/errors.ts';
import { isEmail } from '../../kernel/schemas.ts';
import type { ConversationState, ConversationStatus, DecidedEvent, DeciderCommand, EventDataMap, EventType, Visibility } from './conversation.types.ts';
import type { CommandRules, DecideContext, Row } from './transitions.ts';

/** The longest message a visitor may leave (characters). */
export const MAX_LEFT_MESSAGE_LENGTH = 4_000;

type CommandOf<T extends DeciderCommand['type']> = Extract<DeciderCommand, { type: T }>;

const rows = <C extends DeciderCommand>(states: readonly ConversationStatus[], row: Row<C>): Partial<Record<ConversationStatus, Row<C>>> =>
  Object.fromEntries(states.map((s) => [s, row]));

const event = (visibility: Visibility) => <K extends EventType>(ctx: DecideContext, type: K, data: EventDataMap[K]): DecidedEvent =>
  ({ type, by: ctx.actor, visibility, data }) as DecidedEvent;
/** Dispatch's detail (decisions, offers, overflows) is for staff only. */
const internal = event('internal');
/** What the visitor must know: it is asked to leave a message, it left one, its ticket exists. */
const shown = event('public');

const offerExpired = (offerId: string, state: ConversationState): AppError =>
  new AppError('OFFER_EXPIRED', `offer ${offerId} is not open for you${state.offer === undefined ? '' : ' (another offer is)'}`, { offerId, state: state.status, command: 'decline' });

/** Validates what a visitor leaves: a text of 1 … 4000 characters, and an email (required when the visitor is not a known customer: the ticket needs a requester). */
function checkLeftMessage(command: CommandOf<'leave_message'>, state: ConversationState): void {
  if (typeof command.text !== 'string' || command.text.trim().length === 0 || command.text.length > MAX_LEFT_MESSAGE_LENGTH) {
    throw new AppError('VALIDATION_FAILED', `the message must have 1 … ${MAX_LEFT_MESSAGE_LENGTH} characters`, { field: 'text' });
  }
  if (command.email === undefined) {
    if (state.visitor?.customerId === undefined) throw new AppError('VALIDATION_FAILED', 'an anonymous visitor gives an email to be answered at', { field: 'email' });
    return;
  }
  if (!isEmail(command.email)) throw new AppError('VALIDATION_FAILED', 'the email is not an address', { field: 'email' });
}

/**
 * The rows of dispatch's commands (issue 10), part of the transition table. Dispatch alone
 * (a system actor) records its routing decision, its offers and their ends, and overflows;
 * an agent declines its own open offer; a visitor waiting (bot or queue) may leave a message
 * instead, which closes the conversation and becomes a ticket (`ticket_opened` when it exists).
 */
export const DISPATCH_TRANSITIONS: { readonly [T in 'decline' | 'leave_message' | 'route' | 'offer' | 'end_offer' | 'overflow' | 'ticket_opened']: CommandRules<CommandOf<T>> } = {
  route: {
    from: { queued: { by: ['system'], then: (command, _s, ctx) => [internal(ctx, 'conversation.routed', { decision: command.decision })] } },
  },
  offer: {
    // A new offer replaces one still recorded: the store ended that one already (it expired), but the
    // sweeper that records its end may come after this append. Its end is recorded first, here, so
    // the stream never shows two offers open at once nor an offer that never ended.
    from: {
      queued: {
        by: ['system'],
        then: (command, state, ctx) => {
          const previous = state.offer;
          const replaced = previous === undefined || previous.offerId === command.offer.offerId ? [] : [
            internal(ctx, 'conversation.offer_ended', { offerId: previous.offerId, agentId: previous.agentId, outcome: Date.parse(previous.expiresAt) <= ctx.nowMs ? 'expired' : 'cancelled' }),
          ];
          return [...replaced, internal(ctx, 'conversation.offered', command.offer)];
        },
      },
    },
  },
  end_offer: {
    // Also once the conversation moved on: another agent's claim cancels an offer of a conversation that is assigned by then.
    // The end of an offer that is not the current one (ended already, or replaced) changes nothing.
    from: rows(['queued', 'assigned', 'pending', 'closed'], {
      by: ['system'],
      then: (command, state, ctx) => state.offer?.offerId !== command.offerId ? [] : [
        internal(ctx, 'conversation.offer_ended', { offerId: command.offerId, agentId: command.agentId, outcome: command.outcome }),
      ],
    }),
  },
  decline: {
    from: {
      queued: {
        by: ['agent'],
        then: (command, state, ctx) => {
          if (state.offer?.offerId !== command.offerId || state.offer.agentId !== ctx.actor.id) throw offerExpired(command.offerId, state);
          return [internal(ctx, 'conversation.offer_ended', { offerId: command.offerId, agentId: ctx.actor.id, outcome: 'declined' })];
        },
      },
    },
  },
  overflow: {
    from: {
      queued: {
        by: ['system'],
        then: (command, state, ctx) => {
          const { to, reason } = command;
          // A repeat (a sweeper that ran twice) changes nothing.
          if ('group' in to ? to.group === state.group : state.awaitingMessage === true) return [];
          const overflowed = internal(ctx, 'conversation.overflowed', { ...(state.group === undefined ? {} : { fromGroup: state.group }), to, reason });
          if ('group' in to) return [overflowed];
          return [overflowed, shown(ctx, 'conversation.message_requested', { reason, emailRequired: state.visitor?.customerId === undefined })];
        },
      },
    },
  },
  leave_message: {
    // Waiting for an agent (or still with the bot), whether or not it was asked to.
    from: rows(['bot', 'queued'], {
      by: ['visitor', 'system'],
      then: (command, state, ctx) => {
        checkLeftMessage(command, state);
        if (command.ticketJobId === undefined) throw new AppError('INVALID_TRANSITION', 'no tickets are made here: a message cannot be left', { state: state.status, command: 'leave_message' });
        const { text, email, ticketJobId } = command;
        return [
          shown(ctx, 'conversation.message_left', { text, ...(email === undefined ? {} : { email }), ticketJobId }),
          shown(ctx, 'conversation.closed', { reason: 'left_message' }),
        ];
      },
    }),
  },
  ticket_opened: {
    // Usually closed (leaving the message closed it), but the visitor may have reopened it before the ticket existed.
    from: rows(['queued', 'assigned', 'pending', 'closed'], {
      by: ['system'],
      then: (command, state, ctx) => {
        if (state.ticketJobId !== command.ticketJobId) {
          throw new AppError('INVALID_TRANSITION', `no message was left here for ticket job ${command.ticketJobId}`, { state: state.status, command: 'ticket_opened' });
        }
        if (state.ticketId === command.ticketId) return [];
        return [shown(ctx, 'conversation.ticket_opened', { ticketId: command.ticketId, ticketJobId: command.ticketJobId })];
      },
    }),
  },
};
