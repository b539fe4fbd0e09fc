import { createHash, randomUUID } from 'node:crypto';
import type { ChatConfig } from '../../config/chat-config.ts';
import { AppError, isAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { Principal, VisitorPrincipal } from '../../kernel/principal.ts';
import type { ConversationStore } from '../../ports/conversation-store.ts';
import type { LeaseStore } from '../../ports/lease-store.ts';
import type { JobQueues } from '../jobs/job-queues.ts';
import type { Bot } from './bot.ts';
import { decide, fold, initialState } from './conversation.decider.ts';
import { indexesOf } from './conversation-indexes.ts';
import { createConversationStateCache, DEFAULT_STATE_CACHE_SIZE } from './conversation-state-cache.ts';
import { createConversationTimers, timerFired, type TimerKind, type TimerPlan } from './conversation-timers.ts';
import type {
  Actor, ConversationCommand, ConversationEvent, ConversationState, DecidedEvent, DeciderCommand, MessageContent, Visibility, VisitorRef,
} from './conversation.types.ts';
import { createManualDispatcher, type Dispatcher } from './dispatcher.ts';
import { withVisitorStartLock } from './visitor-start-lock.ts';
import { actorOf, assertMaySee, viewFor, visibleTo, type ConversationView } from './visibility.ts';

/** A command that lost the race this many times (another append came first each time) gives up with CONVERSATION_BUSY. */
export const MAX_APPEND_ATTEMPTS = 5;
export const DEFAULT_HISTORY_LIMIT = 100;
export const MAX_HISTORY_LIMIT = 1_000;
const TIMER_ACTOR: Actor = { kind: 'system', id: 'timer' };

/** What starting a conversation takes: staff name the visitor; the first message may come with it. */
export interface StartInput {
  /** Staff only: the visitor it is for (a visitor starts for itself). */
  readonly visitor?: VisitorRef;
  readonly group?: string;
  readonly language?: string;
  readonly subject?: string;
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
  /** accept | transfer | handover | snooze | wake | close | abandon | reopen | read | delivered. */
  command(p: Principal, conversationId: string, command: ConversationCommand, clientId?: string): Promise<{ seq: number; duplicate: boolean }>;
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
}

export interface ConversationsDeps {
  readonly store: ConversationStore<ConversationEvent>;
  readonly jobs: JobQueues;
  /** Locks shared by the nodes (Redis): one visitor's starts run one at a time (its cap of open conversations). */
  readonly locks: LeaseStore;
  readonly config: ChatConfig;
  readonly log: Logger;
  readonly bot?: Bot;
  readonly dispatcher?: Dispatcher;
  readonly now?: () => number;
  /** Admits a visitor's new conversation from an address, or throws (RATE_LIMITED per address and per site). */
  readonly admitStart?: (visitor: VisitorPrincipal, ip: string) => Promise<void>;
  /** Conversations whose last known state is kept in memory (DEFAULT_STATE_CACHE_SIZE); 0 reads Redis before every command. */
  readonly stateCacheSize?: number;
}

type Outcome = { seq: number; duplicate: boolean };

export function createConversations(deps: ConversationsDeps): Conversations {
  const log = deps.log.child({ module: 'conversations' });
  const now = deps.now ?? Date.now;
  const dispatcher = deps.dispatcher ?? createManualDispatcher();
  const timers = createConversationTimers({ jobs: deps.jobs, settings: deps.config, log, now, fire: (id, kind, seq) => fire(id, kind, seq) });

  /** A store call: STORE_UNAVAILABLE when Redis is away or fails (an AppError of the store's own passes through). */
  async function stored<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (!deps.store.isUp()) throw new AppError('STORE_UNAVAILABLE', `the conversation store (Redis) is unavailable: cannot ${what}`);
    try {
      return await work();
    } catch (err) {
      if (isAppError(err)) throw err;
      throw new AppError('STORE_UNAVAILABLE', `the conversation store (Redis) failed: cannot ${what}`, {}, { cause: err });
    }
  }

  const known = createConversationStateCache(deps.stateCacheSize ?? DEFAULT_STATE_CACHE_SIZE);
  /** The state as stored: the snapshot cached with the last append, or the fold of the stream when there is none. */
  async function load(conversationId: string): Promise<ConversationState> {
    const state = await loadStored(conversationId);
    known.set(conversationId, state);
    return state;
  }
  async function loadStored(conversationId: string): Promise<ConversationState> {
    const head = await stored('read the conversation', () => deps.store.head(conversationId));
    if (!head) return initialState();
    const snapshot = head.snapshot as ConversationState | null;
    if (snapshot?.seq === head.seq) return snapshot;
    const from = snapshot !== null && snapshot.seq < head.seq ? snapshot : initialState();
    return fold(await stored('read the conversation', () => deps.store.read(conversationId, { afterSeq: from.seq })), from);
  }

  /** Whether a client id was appended already: an append that can only fail (expected seq -1) answers `duplicate` for a known id and writes nothing. */
  async function appendedBefore(conversationId: string, clientId: string): Promise<number | undefined> {
    const probe: DecidedEvent = { type: 'conversation.reopened', by: TIMER_ACTOR, visibility: 'internal', data: {} };
    const result = await stored('check the client id', () => deps.store.append({ conversationId, expectedSeq: -1, clientId, events: [{ ...probe, id: randomUUID(), at: new Date(now()).toISOString() }], snapshot: null }));
    return result.outcome === 'duplicate' ? result.seq : undefined;
  }

  /**
   * load → decide → append with the expected seq; a lost race decides again (bounded), a repeat of a client id answers what it got the first time.
   * The first try decides on the state this node knows without reading Redis: a state another node moved on finds a conflict; a refusal or a no-op decided on it is decided again on the stored state.
   */
  async function execute(conversationId: string, actor: Actor, commandsFor: (state: ConversationState) => DeciderCommand[], options: { clientId?: string; principal?: Principal } = {}): Promise<Outcome> {
    const { clientId, principal } = options;
    let mayRecall = true;
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const cached = mayRecall ? known.get(conversationId) : undefined;
      mayRecall = false;
      const before = cached ?? await load(conversationId);
      let decided: DecidedEvent[] = [];
      let after = before;
      try {
        if (principal && before.status !== 'none') assertMaySee(principal, conversationId, before);
        const at = new Date(now()).toISOString();
        for (const command of commandsFor(before)) {
          const events = decide(command, after, { actor, nowMs: now(), reopenWindowMs: deps.config.reopenWindowMs, ...(deps.bot ? { bot: deps.bot.name } : {}) });
          decided = [...decided, ...events];
          after = fold(events.map((e, i) => ({ ...e, seq: after.seq + i + 1, id: '', at }) as ConversationEvent), after);
        }
      } catch (err) {
        if (cached) { attempt -= 1; continue; } // refused by a state that may be out of date: decide again on the stored one
        // A retried command that already went through is refused by the state it made: answer the first outcome.
        const seen = clientId !== undefined && isAppError(err) && err.code !== 'NOT_FOUND' ? await appendedBefore(conversationId, clientId) : undefined;
        if (seen !== undefined) return { seq: seen, duplicate: true };
        throw err;
      }
      if (decided.length === 0 && cached) { attempt -= 1; continue; } // a no-op, the same
      if (decided.length === 0) return { seq: before.seq, duplicate: false };
      const at = new Date(now()).toISOString();
      const events = decided.map((e) => ({ ...e, id: randomUUID(), at }));
      const beforeIndexes = indexesOf(before);
      const afterIndexes = indexesOf(after);
      const result = await stored('append to the conversation', () => deps.store.append({
        conversationId, expectedSeq: before.seq, events, snapshot: after,
        ...(clientId === undefined ? {} : { clientId }),
        index: { add: afterIndexes, remove: beforeIndexes.filter((i) => !afterIndexes.includes(i)), score: now() },
        ...(after.status === 'closed' ? { expireAfterMs: deps.config.retentionMs } : {}),
      }));
      if (result.outcome === 'duplicate') return { seq: result.seq, duplicate: true };
      if (result.outcome === 'appended') {
        known.set(conversationId, after);
        await appended(conversationId, before, after, result.events);
        return { seq: result.seq, duplicate: false };
      }
    }
    throw new AppError('CONVERSATION_BUSY', `conversation ${conversationId} kept changing while this command ran: try again`);
  }

  /** What follows a durable append: timers, the dispatcher, the bot. Their failures are logged; the events stand. */
  async function appended(conversationId: string, before: ConversationState, after: ConversationState, events: readonly ConversationEvent[]): Promise<void> {
    await timers.sync(conversationId, before, after);
    await dispatcher.appended(conversationId, before, after, events).catch((err: unknown) => log.warn({ err, conversationId }, 'dispatcher failed'));
    const message = events.find((e) => e.type === 'conversation.message_sent' && e.by.kind === 'visitor' && e.visibility === 'public');
    if (deps.bot && after.status === 'bot' && message?.type === 'conversation.message_sent') void runBot(deps.bot, conversationId, after, message);
  }

  async function runBot(bot: Bot, conversationId: string, state: ConversationState, message: Extract<ConversationEvent, { type: 'conversation.message_sent' }>): Promise<void> {
    const actor: Actor = { kind: 'bot', id: bot.name };
    try {
      const actions = await bot.reply({ conversationId, state, message });
      for (const [i, action] of actions.entries()) {
        const clientId = `bot-${message.data.messageId}-${i}`;
        const command: DeciderCommand = action.type === 'handover' ? action : { type: action.type, messageId: randomUUID(), clientId, content: action.content };
        await execute(conversationId, actor, () => [command], { clientId });
      }
    } catch (err) {
      log.warn({ err, conversationId, bot: bot.name }, 'bot answer failed');
    }
  }

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
      const { group, language, subject, content } = input;
      const start: DeciderCommand = { type: 'start', visitor, ...(group === undefined ? {} : { group }), ...(language === undefined ? {} : { language }), ...(subject === undefined ? {} : { subject }) };
      const first: DeciderCommand[] = content === undefined ? [] : [{ type: 'send', messageId: randomUUID(), ...(clientId === undefined ? {} : { clientId }), content }];
      const append = () => execute(conversationId, actorOf(p), () => [start, ...first], clientId === undefined ? {} : { clientId });
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

    send(p, conversationId, { clientId, content, visibility }) {
      const type = visibility === 'internal' ? 'note' : 'send';
      const messageId = randomUUID();
      return execute(conversationId, actorOf(p), () => [{ type, messageId, clientId, content }], { clientId, principal: p });
    },

    command(p, conversationId, command, clientId) {
      return execute(conversationId, actorOf(p), () => [command], { principal: p, ...(clientId === undefined ? {} : { clientId }) });
    },

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
  };
}
