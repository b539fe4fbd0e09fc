import { createHash, randomUUID } from 'node:crypto';
import type { ChatConfig } from '../../config/chat-config.ts';
import { AppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { Principal, VisitorPrincipal } from '../../kernel/principal.ts';
import type { ConversationStore } from '../../ports/conversation-store.ts';
import type { LeaseStore } from '../../ports/lease-store.ts';
import type { JobQueues } from '../jobs/job-queues.ts';
import { createConversationCommands, type DispatchCommand } from './conversation-commands.ts';
import { fold, initialState } from './conversation.decider.ts';
import { createConversationExecutor, type Outcome } from './conversation-executor.ts';
import { createConversationTimers, timerFired, type TimerKind, type TimerPlan } from './conversation-timers.ts';
import type {
  Actor, ConversationCommand, ConversationEvent, ConversationState, DeciderCommand, MessageContent, Visibility, VisitorRef,
} from './conversation.types.ts';
import { createManualDispatcher, type Dispatcher } from './dispatcher.ts';
import type { LeftMessages } from './left-messages.ts';
import { withVisitorStartLock } from './visitor-start-lock.ts';
import { actorOf, assertMaySee, viewFor, visibleTo, type ConversationView } from './visibility.ts';

export { MAX_APPEND_ATTEMPTS } from './conversation-executor.ts';
export { DISPATCH_ACTOR, offerClientId, type DispatchCommand } from './conversation-commands.ts';
export const DEFAULT_HISTORY_LIMIT = 100;
export const MAX_HISTORY_LIMIT = 1_000;
const TIMER_ACTOR: Actor = { kind: 'system', id: 'timer' };

type MessageSent = Extract<ConversationEvent, { type: 'conversation.message_sent' }>;

/**
 * The bot that takes new conversations, as this service drives it: its name (`bot_engaged`,
 * the author of its messages), and how a visitor's public message in state `bot` reaches it.
 */
export interface ConversationBot {
  readonly name: string;
  /** Queues the answer durably (a job); called before the message is acknowledged, so an acknowledged message is answered. */
  answer(conversationId: string, message: MessageSent): Promise<void>;
}

/** The bot's access to conversations: no principal (the bot is the gateway's own), the stored state and events, its commands as the bot. */
export interface BotAccess {
  load(conversationId: string): Promise<ConversationState>;
  /** Stored events with afterSeq < seq ≤ untilSeq, oldest first, internal ones too. */
  read(conversationId: string, range: { readonly afterSeq: number; readonly untilSeq: number }): Promise<ConversationEvent[]>;
  /** A message or the handover, as the bot actor; idempotent by clientId (a repeat answers the first outcome). */
  act(conversationId: string, command: Extract<DeciderCommand, { type: 'send' | 'handover' }>, clientId: string): Promise<{ seq: number; duplicate: boolean }>;
}

/** What starting a conversation takes: staff name the visitor; the first message may come with it. */
export interface StartInput {
  /** Staff only: the visitor it is for (a visitor starts for itself). */
  readonly visitor?: VisitorRef;
  readonly group?: string;
  readonly language?: string;
  readonly subject?: string;
  /** What the widget says the visitor came for (a topic it chose) and the page it was on: routing reads them. */
  readonly topic?: string;
  readonly page?: string;
  readonly content?: MessageContent;
}

export interface ListFilter {
  readonly state?: ConversationState['status'];
  readonly agentId?: string;
  readonly group?: string;
  readonly customerId?: string;
  readonly visitorId?: string;
}

export interface Conversations {
  /**
   * Starts one (visitor: for itself; staff: for a given visitor). Idempotent by clientId (the same
   * id answers the same conversation). A visitor's new conversation is admitted by `admitStart`
   * (rate limits per address and site) with the address it came `from`; a repeat is not counted.
   */
  start(p: Principal, input: StartInput, clientId?: string, from?: { readonly ip: string }): Promise<{ conversationId: string; seq: number; duplicate: boolean }>;
  /** Sends a message (`internal`: an agent's note). Idempotent by clientId (same id → same seq, stored once). */
  send(p: Principal, conversationId: string, input: { clientId: string; content: MessageContent; visibility?: Visibility }): Promise<{ seq: number; duplicate: boolean }>;
  /**
   * accept | decline | leave_message | transfer | handover | snooze | wake | close | abandon | reopen | read | delivered.
   * An agent's accept and a transfer to an agent are claimed with the dispatcher first (AGENT_AT_CAPACITY, OFFER_EXPIRED);
   * an agent transfers only its own conversation, a supervisor any (past the agent's capacity), a service any.
   */
  command(p: Principal, conversationId: string, command: ConversationCommand, clientId?: string): Promise<{ seq: number; duplicate: boolean }>;
  /** Dispatch's own commands, as the system actor `dispatch` (no principal: dispatch is the gateway itself). Idempotent by clientId. */
  dispatch(conversationId: string, command: DispatchCommand, clientId?: string): Promise<{ seq: number; duplicate: boolean }>;
  /** The state (visitor-filtered view); NOT_FOUND when p may not see it. */
  get(p: Principal, conversationId: string): Promise<ConversationView>;
  /** Events after afterSeq (≤ untilSeq), as p may see them; HISTORY_EXPIRED when afterSeq is below what is kept. `lastSeq`: the last seq read (resume from it). */
  history(p: Principal, conversationId: string, range: { afterSeq?: number; untilSeq?: number; limit?: number }): Promise<{ events: ConversationEvent[]; lastSeq: number; hasMore: boolean }>;
  /** The state as it was once `untilSeq` was appended (the fold of its events up to there), as p may see it. */
  stateAt(p: Principal, conversationId: string, untilSeq: number): Promise<ConversationView>;
  /** Conversations, most recently active first. A page may hold fewer than `limit` (filters are applied to each page of one index): follow `next`. */
  list(p: Principal, filter: ListFilter, page: { limit: number; cursor?: string }): Promise<{ items: ConversationView[]; next?: string }>;
  /** Throws NOT_FOUND unless p may follow this conversation's events (a socket's subscribe). */
  authorize(p: Principal, conversationId: string): Promise<void>;
  /** What p may see of an event: itself, or undefined. Pure, sync. */
  visibleTo(p: Principal, event: ConversationEvent): ConversationEvent | undefined;
  /** The configured bot's access (the bot runner's); absent without a bot. */
  readonly forBot?: BotAccess;
}

export interface ConversationsDeps {
  readonly store: ConversationStore<ConversationEvent>;
  readonly jobs: JobQueues;
  /** Locks shared by the nodes (Redis): one visitor's starts run one at a time (its cap of open conversations). */
  readonly locks: LeaseStore;
  readonly config: ChatConfig;
  readonly log: Logger;
  readonly bot?: ConversationBot;
  readonly dispatcher?: Dispatcher;
  /** Makes tickets of the messages visitors leave; absent: leaving a message is refused (INVALID_TRANSITION). */
  readonly messages?: LeftMessages;
  readonly now?: () => number;
  /** Admits a visitor's new conversation from an address, or throws (RATE_LIMITED per address and per site). */
  readonly admitStart?: (visitor: VisitorPrincipal, ip: string) => Promise<void>;
  /** Conversations whose last known state is kept in memory (DEFAULT_STATE_CACHE_SIZE); 0 reads Redis before every command. */
  readonly stateCacheSize?: number;
}

export function createConversations(deps: ConversationsDeps): Conversations {
  const log = deps.log.child({ module: 'conversations' });
  const now = deps.now ?? Date.now;
  const dispatcher = deps.dispatcher ?? createManualDispatcher();
  const timers = createConversationTimers({ jobs: deps.jobs, settings: deps.config, log, now, fire: (id, kind, seq) => fire(id, kind, seq) });

  const executor = createConversationExecutor({
    store: deps.store, config: deps.config, now, appended: (...args) => appended(...args),
    ...(deps.bot ? { bot: deps.bot.name } : {}), ...(deps.stateCacheSize === undefined ? {} : { stateCacheSize: deps.stateCacheSize }),
  });
  const { stored, load, execute } = executor;
  const commands = createConversationCommands({ executor, dispatcher, log, ...(deps.messages ? { messages: deps.messages } : {}) });

  /**
   * What follows a durable append: timers, the dispatcher, the bot. The dispatcher's failures are
   * logged (the events stand); the bot's job is queued before the append is acknowledged, and a
   * failure to queue it fails the command (its repeat queues the job: see `ensureAnswered`).
   */
  async function appended(conversationId: string, before: ConversationState, after: ConversationState, events: readonly ConversationEvent[]): Promise<void> {
    await timers.sync(conversationId, before, after);
    await dispatcher.appended(conversationId, before, after, events).catch((err: unknown) => log.warn({ err, conversationId }, 'dispatcher failed'));
    const message = events.find((e): e is MessageSent => e.type === 'conversation.message_sent' && e.by.kind === 'visitor' && e.visibility === 'public');
    if (deps.bot && after.status === 'bot' && message) await deps.bot.answer(conversationId, message);
  }

  /** A repeated visitor message (its client id seen before) in state `bot`: its job is queued again, in case the first try stored the message but not the job (queueing is idempotent by the job id). */
  async function ensureAnswered(conversationId: string, outcome: Outcome): Promise<Outcome> {
    if (!deps.bot || !outcome.duplicate || (await load(conversationId)).status !== 'bot') return outcome;
    const [event] = await stored('read the conversation', () => deps.store.read(conversationId, { afterSeq: outcome.seq - 1, untilSeq: outcome.seq }));
    if (event?.type === 'conversation.message_sent' && event.by.kind === 'visitor' && event.visibility === 'public') await deps.bot.answer(conversationId, event);
    return outcome;
  }

  const forBot = (name: string): BotAccess => ({
    load,
    read: (conversationId, range) => stored('read the conversation', () => deps.store.read(conversationId, range)),
    act: (conversationId, command, clientId) => execute(conversationId, { kind: 'bot', id: name }, () => [command], { clientId }),
  });

  /** A timer fired: it acts only if the conversation still calls for it and its time is up; one a message moved on is set again for the time left. */
  async function fire(conversationId: string, kind: TimerKind, armedAtSeq: number): Promise<void> {
    let later: TimerPlan | undefined;
    await execute(conversationId, TIMER_ACTOR, (state) => {
      const fired = timerFired(state, kind, armedAtSeq, deps.config, now());
      later = fired !== undefined && 'later' in fired ? fired.later : undefined;
      return fired !== undefined && 'act' in fired ? [fired.act] : [];
    });
    if (later) await timers.rearm(conversationId, later);
  }

  async function visible(p: Principal, conversationId: string): Promise<ConversationState> {
    const state = await load(conversationId);
    assertMaySee(p, conversationId, state);
    return state;
  }

  return {
    async start(p, input, clientId, from) {
      const visitor: VisitorRef | undefined = p.kind === 'visitor' ? { id: p.visitorId, site: p.site, ...(p.customerId === undefined ? {} : { customerId: p.customerId }) } : input.visitor;
      if (visitor === undefined) throw new AppError('VALIDATION_FAILED', 'staff name the visitor a conversation is for', { field: 'visitor' });
      // The id follows from the client id, so a repeated start finds the conversation it made.
      const conversationId = clientId === undefined ? randomUUID() : createHash('sha256').update(`${p.name}\n${clientId}`).digest('hex').slice(0, 32).replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
      const { content, visitor: _visitor, ...asked } = input;
      const start: DeciderCommand = { type: 'start', visitor, ...definedOnly(asked) };
      const first: DeciderCommand[] = content === undefined ? [] : [{ type: 'send', messageId: randomUUID(), ...(clientId === undefined ? {} : { clientId }), content }];
      const append = async () => ensureAnswered(conversationId, await execute(conversationId, actorOf(p), () => [start, ...first], clientId === undefined ? {} : { clientId }));
      if ((await load(conversationId)).status !== 'none') return { conversationId, ...(await append()) };
      // A new one counts against the visitor's cap: its starts run one at a time, so the count holds until the append.
      const outcome = await withVisitorStartLock(deps.locks, visitor.id, async () => {
        const open = await stored('count open conversations', () => deps.store.count(`open:visitor:${visitor.id}`));
        if (open >= deps.config.maxOpenPerVisitor) throw new AppError('CONVERSATION_LIMIT_REACHED', `visitor ${visitor.id} has ${open} open conversations, the most allowed`, { limit: deps.config.maxOpenPerVisitor });
        if (p.kind === 'visitor' && deps.admitStart) await deps.admitStart(p, from?.ip ?? 'unknown');
        return append();
      });
      return { conversationId, ...outcome };
    },

    async send(p, conversationId, { clientId, content, visibility }) {
      const type = visibility === 'internal' ? 'note' : 'send';
      const messageId = randomUUID();
      const outcome = await execute(conversationId, actorOf(p), () => [{ type, messageId, clientId, content }], { clientId, principal: p });
      return p.kind === 'visitor' ? ensureAnswered(conversationId, outcome) : outcome;
    },

    command: commands.command,
    dispatch: commands.dispatch,

    async get(p, conversationId) {
      return viewFor(p, conversationId, await visible(p, conversationId));
    },

    async history(p, conversationId, range) {
      const state = await visible(p, conversationId);
      const afterSeq = range.afterSeq ?? 0;
      const untilSeq = Math.min(range.untilSeq ?? state.seq, state.seq);
      const limit = Math.min(range.limit ?? DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT);
      if (afterSeq >= untilSeq) return { events: [], lastSeq: Math.max(afterSeq, 0), hasMore: false };
      const events = await stored('read the conversation', () => deps.store.read(conversationId, { afterSeq, untilSeq, limit }));
      if ((events[0]?.seq ?? Infinity) !== afterSeq + 1) throw new AppError('HISTORY_EXPIRED', `the events of conversation ${conversationId} after seq ${afterSeq} are no longer kept`, { conversationId, seq: state.seq });
      const lastSeq = events.at(-1)?.seq ?? afterSeq;
      return { events: events.flatMap((e) => visibleTo(p, e) ?? []), lastSeq, hasMore: lastSeq < untilSeq };
    },

    async stateAt(p, conversationId, untilSeq) {
      const current = await visible(p, conversationId);
      let state = initialState();
      while (state.seq < Math.min(untilSeq, current.seq)) {
        const events = await stored('read the conversation', () => deps.store.read(conversationId, { afterSeq: state.seq, untilSeq, limit: MAX_HISTORY_LIMIT }));
        if (events[0]?.seq !== state.seq + 1) throw new AppError('HISTORY_EXPIRED', `the events of conversation ${conversationId} are no longer kept: its state at seq ${untilSeq} cannot be rebuilt`, { conversationId, seq: current.seq });
        state = fold(events, state);
      }
      return viewFor(p, conversationId, state);
    },

    async list(p, filter, page) {
      const f: ListFilter = p.kind === 'visitor' ? { ...filter, visitorId: p.visitorId } : filter;
      const index = f.agentId !== undefined ? `agent:${f.agentId}` : f.customerId !== undefined ? `customer:${f.customerId}` : f.visitorId !== undefined ? `visitor:${f.visitorId}`
        : f.group !== undefined ? `group:${f.group}` : f.state !== undefined ? `state:${f.state}` : 'all';
      const { ids, next } = await stored('list conversations', () => deps.store.list(index, page));
      const states = await Promise.all(ids.map(async (id) => [id, await load(id)] as const));
      const items = states
        .filter(([, s]) => (f.state === undefined || s.status === f.state) && (f.agentId === undefined || s.agentId === f.agentId) && (f.group === undefined || s.group === f.group)
          && (f.customerId === undefined || s.visitor?.customerId === f.customerId) && (f.visitorId === undefined || s.visitor?.id === f.visitorId))
        .map(([id, s]) => viewFor(p, id, s));
      return { items, ...(next === undefined ? {} : { next }) };
    },

    async authorize(p, conversationId) {
      await visible(p, conversationId);
    },

    visibleTo,
    ...(deps.bot ? { forBot: forBot(deps.bot.name) } : {}),
  };
}

const definedOnly = <T extends object>(fields: T): T => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;
