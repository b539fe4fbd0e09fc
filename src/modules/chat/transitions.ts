import { AppError } from '../../kernel/errors.ts';
import type {
  Actor, ActorKind, Classification, CommandType, ConversationState, ConversationStatus, DecidedEvent, DeciderCommand, MessageContent,
} from './conversation.types.ts';
import type { BotFindings } from '../bot/bot.types.ts';
import { DISPATCH_TRANSITIONS } from './dispatch-transitions.ts';

/** What `decide` knows besides the command and the state: who asks, when, and the configured policy. */
export interface DecideContext {
  readonly actor: Actor;
  readonly nowMs: number;
  /** A closed conversation may be reopened this long after it closed. */
  readonly reopenWindowMs: number;
  /** The bot that takes new conversations; absent: they go straight to the queue. */
  readonly bot?: string;
}

type CommandOf<T extends CommandType> = Extract<DeciderCommand, { type: T }>;

/** One cell of the table: who may issue the command in this state, and the events it decides. */
export interface Row<C extends DeciderCommand> {
  readonly by: readonly ActorKind[];
  readonly then: (command: C, state: ConversationState, ctx: DecideContext) => DecidedEvent[];
}

/** One command: its rows by state, and the states that refuse it with a more precise code than INVALID_TRANSITION. */
export interface CommandRules<C extends DeciderCommand> {
  readonly from: Partial<Record<ConversationStatus, Row<C>>>;
  readonly refuse?: Partial<Record<ConversationStatus, 'CONVERSATION_ALREADY_ASSIGNED'>>;
}

export type TransitionTable = { readonly [T in CommandType]: CommandRules<CommandOf<T>> };

const STAFF: readonly ActorKind[] = ['agent', 'system'];
const EVERYONE: readonly ActorKind[] = ['visitor', 'agent', 'bot', 'system'];
const OPEN: readonly ConversationStatus[] = ['bot', 'queued', 'assigned', 'pending'];

const message = (type: 'send' | 'note') => (command: CommandOf<'send' | 'note'>, _state: ConversationState, ctx: DecideContext): DecidedEvent => ({
  type: 'conversation.message_sent',
  by: ctx.actor,
  visibility: type === 'note' ? 'internal' : 'public',
  data: {
    messageId: command.messageId,
    ...(command.clientId === undefined ? {} : { clientId: command.clientId }),
    author: ctx.actor,
    visibility: type === 'note' ? 'internal' : 'public',
    ...(command.content satisfies MessageContent),
  },
});

/** Routing detail (which group, why) is internal: a visitor only learns that an agent joined. */
const queued = (ctx: DecideContext, reason: 'no_bot' | 'handover' | 'agent_timeout' | 'transferred' | 'reopened', group: string | undefined, classification?: Classification, findings?: BotFindings): DecidedEvent => ({
  type: 'conversation.queued',
  by: ctx.actor,
  visibility: 'internal',
  data: { reason, ...(group === undefined ? {} : { group }), ...(classification === undefined ? {} : { classification }), ...(findings === undefined ? {} : { findings }) },
});

/** The bot's own findings, for the agent; anyone else's (and an empty one) are none. */
const findingsOf = (command: CommandOf<'handover'>, ctx: DecideContext): BotFindings | undefined =>
  ctx.actor.kind !== 'bot' || command.findings === undefined || Object.keys(command.findings).length === 0 ? undefined : command.findings;

/** The bot's own classification, with only the fields it set; anyone else's (and an empty one) is none. */
const classificationOf = (command: CommandOf<'handover'>, ctx: DecideContext): Classification | undefined => {
  if (ctx.actor.kind !== 'bot' || command.classification === undefined) return undefined;
  const { intent, language, skills } = command.classification;
  const kept: Classification = { ...(intent ? { intent } : {}), ...(language ? { language } : {}), ...(skills && skills.length > 0 ? { skills: [...skills] } : {}) };
  return Object.keys(kept).length === 0 ? undefined : kept;
};

/** `offerId`: the offer (or claim) it completes, when dispatch made one. */
const assigned = (ctx: DecideContext, agentId: string, offerId?: string): DecidedEvent =>
  ({ type: 'conversation.assigned', by: ctx.actor, visibility: 'public', data: { agentId, ...(offerId === undefined ? {} : { offerId }) } });

const closed = (ctx: DecideContext, reason: 'resolved' | 'abandoned' | 'idle'): DecidedEvent => ({ type: 'conversation.closed', by: ctx.actor, visibility: 'public', data: { reason } });

const refused = (detail: string, state: ConversationState, command: CommandType): AppError =>
  new AppError('INVALID_TRANSITION', detail, { state: state.status, command });

const rows = <C extends DeciderCommand>(states: readonly ConversationStatus[], row: Row<C>): Partial<Record<ConversationStatus, Row<C>>> =>
  Object.fromEntries(states.map((s) => [s, row]));

const progress = (kind: 'read' | 'delivered') => (
  rows<CommandOf<'read' | 'delivered'>>([...OPEN, 'closed'], {
    by: EVERYONE,
    then: (command, state, ctx) => {
      if (!Number.isInteger(command.upToSeq) || command.upToSeq < 1) {
        throw new AppError('VALIDATION_FAILED', `upToSeq must be a seq of this conversation (1 … ${state.seq})`, { field: 'upToSeq' });
      }
      // A receipt past the last event means everything so far (a client that counted ahead).
      const upToSeq = Math.min(command.upToSeq, state.seq);
      const known = (kind === 'read' ? state.readUpTo : state.deliveredUpTo)[`${ctx.actor.kind}:${ctx.actor.id}`] ?? 0;
      // Receipts only move forward; an old one changes nothing.
      if (upToSeq <= known) return [];
      return [{ type: kind === 'read' ? 'conversation.read' : 'conversation.delivered', by: ctx.actor, visibility: 'public', data: { participant: ctx.actor, upToSeq } }];
    },
  })
);

/**
 * The transition table: for each command, the states that take it, who may issue it there and
 * the events it decides. A state that is not listed refuses the command (INVALID_TRANSITION, or
 * the code under `refuse`); an actor kind that is listed in no row of the command is FORBIDDEN.
 * `new` is never at rest: `start` goes on to `bot` or `queued` in the same append.
 */
export const TRANSITIONS: TransitionTable = {
  start: {
    from: {
      none: {
        by: ['visitor', 'agent', 'system'],
        then: (command, _state, ctx) => {
          if (ctx.actor.kind === 'visitor' && ctx.actor.id !== command.visitor.id) throw new AppError('FORBIDDEN', 'a visitor starts conversations for itself only');
          const { type: _type, group, ...data } = command;
          return [
            { type: 'conversation.created', by: ctx.actor, visibility: 'public', data },
            ctx.bot === undefined
              ? queued(ctx, 'no_bot', group)
              : { type: 'conversation.bot_engaged', by: ctx.actor, visibility: 'internal', data: { bot: ctx.bot, ...(group === undefined ? {} : { group }) } },
          ];
        },
      },
    },
  },
  send: {
    from: {
      bot: { by: ['visitor', 'bot', 'system'], then: (c, s, ctx) => [message('send')(c, s, ctx)] },
      queued: { by: ['visitor', 'system'], then: (c, s, ctx) => [message('send')(c, s, ctx)] },
      assigned: { by: ['visitor', 'agent', 'system'], then: (c, s, ctx) => [message('send')(c, s, ctx)] },
      pending: {
        by: ['visitor', 'agent', 'system'],
        // The customer answered: the snooze is over.
        then: (c, s, ctx) => ctx.actor.kind === 'visitor'
          ? [message('send')(c, s, ctx), { type: 'conversation.woke', by: ctx.actor, visibility: 'internal', data: { reason: 'customer_replied' } }]
          : [message('send')(c, s, ctx)],
      },
    },
  },
  note: { from: rows([...OPEN, 'closed'], { by: ['agent', 'bot', 'system'], then: (c, s, ctx) => [message('note')(c, s, ctx)] }) },
  handover: {
    from: { bot: { by: ['visitor', 'bot', 'agent', 'system'], then: (c, s, ctx) => [queued(ctx, 'handover', s.group, classificationOf(c, ctx), findingsOf(c, ctx))] } },
  },
  accept: {
    from: {
      queued: {
        by: STAFF,
        then: (command, state, ctx) => {
          const agentId = ctx.actor.kind === 'agent' ? ctx.actor.id : command.agentId;
          if (agentId === undefined) throw new AppError('VALIDATION_FAILED', 'accept on behalf of the system names the agent', { field: 'agentId' });
          if (ctx.actor.kind === 'agent' && command.agentId !== undefined && command.agentId !== agentId) throw new AppError('FORBIDDEN', 'an agent accepts for itself only');
          return [assigned(ctx, agentId, command.offerId)];
        },
      },
    },
    refuse: { assigned: 'CONVERSATION_ALREADY_ASSIGNED', pending: 'CONVERSATION_ALREADY_ASSIGNED' },
  },
  transfer: {
    from: rows(['queued', 'assigned', 'pending'], {
      by: STAFF,
      then: (command, state, ctx) => {
        const { to } = command;
        if ('agentId' in to && to.agentId === state.agentId) throw refused(`the conversation is already assigned to ${to.agentId}`, state, 'transfer');
        const transferred: DecidedEvent = {
          type: 'conversation.transferred',
          by: ctx.actor,
          visibility: 'internal',
          data: { ...(state.agentId === undefined ? {} : { fromAgentId: state.agentId }), to, ...(command.reason === undefined ? {} : { reason: command.reason }) },
        };
        return [transferred, 'agentId' in to ? assigned(ctx, to.agentId, command.offerId) : queued(ctx, 'transferred', to.group)];
      },
    }),
  },
  snooze: {
    from: {
      assigned: {
        by: STAFF,
        then: (command, _state, ctx) => {
          if (command.untilMs !== undefined && !(command.untilMs > ctx.nowMs)) throw new AppError('VALIDATION_FAILED', 'untilMs must be in the future', { field: 'untilMs' });
          return [{ type: 'conversation.snoozed', by: ctx.actor, visibility: 'internal', data: command.untilMs === undefined ? {} : { untilMs: command.untilMs } }];
        },
      },
    },
  },
  wake: {
    from: {
      pending: {
        by: STAFF,
        then: (_c, _s, ctx) => [{ type: 'conversation.woke', by: ctx.actor, visibility: 'internal', data: { reason: ctx.actor.kind === 'system' ? 'snooze_ended' : 'agent' } }],
      },
    },
  },
  requeue: { from: { assigned: { by: ['system'], then: (_c, s, ctx) => [queued(ctx, 'agent_timeout', s.group)] } } },
  close: {
    from: rows(OPEN, { by: STAFF, then: (command, _s, ctx) => [closed(ctx, ctx.actor.kind === 'system' ? (command.reason ?? 'resolved') : 'resolved')] }),
  },
  abandon: { from: rows(['bot', 'queued'], { by: ['visitor', 'system'], then: (_c, _s, ctx) => [closed(ctx, 'abandoned')] }) },
  reopen: {
    from: {
      closed: {
        by: ['visitor', 'agent', 'system'],
        then: (_command, state, ctx) => {
          const closedAtMs = Date.parse(state.closedAt ?? '');
          if (!(ctx.nowMs - closedAtMs <= ctx.reopenWindowMs)) throw refused(`the conversation closed at ${state.closedAt}: it can be reopened for ${ctx.reopenWindowMs} ms only`, state, 'reopen');
          const reopened: DecidedEvent = { type: 'conversation.reopened', by: ctx.actor, visibility: 'public', data: {} };
          // An agent who reopens takes it; anyone else puts it back in the queue.
          return [reopened, ctx.actor.kind === 'agent' ? assigned(ctx, ctx.actor.id) : queued(ctx, 'reopened', state.group)];
        },
      },
    },
  },
  ...DISPATCH_TRANSITIONS,
  read: { from: progress('read') },
  delivered: { from: progress('delivered') },
};

/** The actor kinds that may issue a command in some state: any other is refused FORBIDDEN whatever the state. */
export function issuersOf(type: CommandType): ReadonlySet<ActorKind> {
  const rules = TRANSITIONS[type] as CommandRules<DeciderCommand>;
  return new Set(Object.values(rules.from).flatMap((row) => row.by));
}
