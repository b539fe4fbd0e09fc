import type { ConversationState } from './conversation.types.ts';

/** How many conversations' last known states a node keeps to decide on without reading Redis first. */
export const DEFAULT_STATE_CACHE_SIZE = 10_000;

/**
 * The last state a node read or appended, per conversation, the least recently used dropped past
 * `size`. Only a hint: a command decided on it appends with its seq as the expected seq, so a
 * state another node moved on finds a conflict and is read again.
 */
export interface ConversationStateCache {
  get(conversationId: string): ConversationState | undefined;
  /** Keeps it (one that does not exist, `none`, is dropped). */
  set(conversationId: string, state: ConversationState): void;
  delete(conversationId: string): void;
}

/** A bounded LRU (a Map in use order: its first key is the least recently used); size 0 keeps nothing. */
export function createConversationStateCache(size: number): ConversationStateCache {
  const states = new Map<string, ConversationState>();
  const cache: ConversationStateCache = {
    get(conversationId) {
      const state = states.get(conversationId);
      if (state !== undefined) cache.set(conversationId, state);
      return state;
    },
    set(conversationId, state) {
      states.delete(conversationId);
      if (size <= 0 || state.status === 'none') return;
      states.set(conversationId, state);
      if (states.size > size) states.delete(states.keys().next().value as string);
    },
    delete(conversationId) {
      states.delete(conversationId);
    },
  };
  return cache;
}
