import { randomUUID } from 'node:crypto';
import type { ChatConfig } from '../../config/chat-config.ts';
import { AppError, isAppError } from '../../kernel/errors.ts';
import type { Principal } from '../../kernel/principal.ts';
import type { ConversationStore } from '../../ports/conversation-store.ts';
import { decide, fold, initialState } from './conversation.decider.ts';
import { indexesOf } from './conversation-indexes.ts';
import { createConversationStateCache, DEFAULT_STATE_CACHE_SIZE } from './conversation-state-cache.ts';
import type { Actor, ConversationEvent, ConversationState, DecidedEvent, DeciderCommand } from './conversation.types.ts';
import { assertMaySee } from './visibility.ts';

/** A command that lost the race this many times (another append came first each time) gives up with CONVERSATION_BUSY. */
export const MAX_APPEND_ATTEMPTS = 5;
const PROBE_ACTOR: Actor = { kind: 'system', id: 'timer' };

/** What an append answers: the seq of its last event (or of the first append of the same client id). */
export type Outcome = { seq: number; duplicate: boolean };

export interface ConversationExecutorDeps {
  readonly store: ConversationStore<ConversationEvent>;
  readonly config: ChatConfig;
  readonly now: () => number;
  /** The bot's name when one takes new conversations. */
  readonly bot?: string;
  readonly stateCacheSize?: number;
  /** After every durable append (timers, the dispatcher, the bot). */
  readonly appended: (conversationId: string, before: ConversationState, after: ConversationState, events: readonly ConversationEvent[]) => Promise<void>;
}

/** The load → decide → append loop every write of a conversation goes through. */
export interface ConversationExecutor {
  /** A store call: STORE_UNAVAILABLE when Redis is away or fails (an AppError of the store's own passes through). */
  stored<T>(what: string, work: () => Promise<T>): Promise<T>;
  /** The state as stored (and remembered as this node's last known). */
  load(conversationId: string): Promise<ConversationState>;
  /** The events a command decides on a state, without appending them (a check before a side effect: a claim, a job). */
  decideOn(state: ConversationState, actor: Actor, command: DeciderCommand): DecidedEvent[];
  /** The seq of an earlier append of this client id, if there was one. Writes nothing. */
  appendedBefore(conversationId: string, clientId: string): Promise<number | undefined>;
  /**
   * load → decide → append with the expected seq; a lost race decides again (bounded), a repeat of a client id answers what it got the first time.
   * The first try decides on the state this node knows without reading Redis: a state another node moved on finds a conflict; a refusal or a no-op decided on it is decided again on the stored state.
   */
  execute(conversationId: string, actor: Actor, commandsFor: (state: ConversationState) => DeciderCommand[], options?: { clientId?: string; principal?: Principal }): Promise<Outcome>;
}

export function createConversationExecutor(deps: ConversationExecutorDeps): ConversationExecutor {
  const { now } = deps;
  const known = createConversationStateCache(deps.stateCacheSize ?? DEFAULT_STATE_CACHE_SIZE);

  async function stored<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (!deps.store.isUp()) throw new AppError('STORE_UNAVAILABLE', `the conversation store (Redis) is unavailable: cannot ${what}`);
    try {
      return await work();
    } catch (err) {
      if (isAppError(err)) throw err;
      throw new AppError('STORE_UNAVAILABLE', `the conversation store (Redis) failed: cannot ${what}`, {}, { cause: err });
    }
  }

  async function load(conversationId: string): Promise<ConversationState> {
    const state = await loadStored(conversationId);
    known.set(conversationId, state);
    return state;
  }
  /** The snapshot cached with the last append, or the fold of the stream when there is none. */
  async function loadStored(conversationId: string): Promise<ConversationState> {
    const head = await stored('read the conversation', () => deps.store.head(conversationId));
    if (!head) return initialState();
    const snapshot = head.snapshot as ConversationState | null;
    if (snapshot?.seq === head.seq) return snapshot;
    const from = snapshot !== null && snapshot.seq < head.seq ? snapshot : initialState();
    return fold(await stored('read the conversation', () => deps.store.read(conversationId, { afterSeq: from.seq })), from);
  }

  const decideOn = (state: ConversationState, actor: Actor, command: DeciderCommand): DecidedEvent[] =>
    decide(command, state, { actor, nowMs: now(), reopenWindowMs: deps.config.reopenWindowMs, ...(deps.bot === undefined ? {} : { bot: deps.bot }) });

  /** An append that can only fail (expected seq -1) answers `duplicate` for a known id and writes nothing. */
  async function appendedBefore(conversationId: string, clientId: string): Promise<number | undefined> {
    const probe: DecidedEvent = { type: 'conversation.reopened', by: PROBE_ACTOR, visibility: 'internal', data: {} };
    const result = await stored('check the client id', () => deps.store.append({ conversationId, expectedSeq: -1, clientId, events: [{ ...probe, id: randomUUID(), at: new Date(now()).toISOString() }], snapshot: null }));
    return result.outcome === 'duplicate' ? result.seq : undefined;
  }

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
          const events = decideOn(after, actor, command);
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
        await deps.appended(conversationId, before, after, result.events);
        return { seq: result.seq, duplicate: false };
      }
    }
    throw new AppError('CONVERSATION_BUSY', `conversation ${conversationId} kept changing while this command ran: try again`);
  }

  return { stored, load, decideOn, appendedBefore, execute };
}
