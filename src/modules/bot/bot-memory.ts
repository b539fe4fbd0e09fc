import type { BlobStore } from '../../ports/blob-store.ts';

/**
 * A small durable state per conversation for a bot's multi-turn dialogues (the form it is filling
 * in, the order it asked about, how many order numbers were tried), shared by every node: the
 * next message may be answered by another one. JSON; at most MAX_BOT_MEMORY_BYTES.
 */
export interface BotMemory {
  /** What was last set for the conversation, or undefined (never set, or expired). */
  get(conversationId: string): Promise<unknown>;
  /** Replaces it; it lasts the memory's lifetime from now. */
  set(conversationId: string, value: unknown): Promise<void>;
}

/** A dialogue's state is small: a bigger one is a bug (a transcript kept in it), refused. */
export const MAX_BOT_MEMORY_BYTES = 64 * 1024;

/** The key of a conversation's bot memory: the conversation's hash tag, so it sits with its stream on Redis Cluster. */
export const botMemoryKey = (conversationId: string): string => `omnigate:bot:{${conversationId}}:memory`;

/** Bot memory as JSON blobs (Redis in the gateway) that expire `ttlMs` after their last write. */
export function createBotMemory(deps: { readonly blobs: BlobStore; readonly ttlMs: number }): BotMemory {
  return {
    async get(conversationId) {
      const bytes = await deps.blobs.get(botMemoryKey(conversationId));
      return bytes === undefined ? undefined : JSON.parse(bytes.toString('utf8'));
    },
    async set(conversationId, value) {
      const bytes = Buffer.from(JSON.stringify(value ?? null), 'utf8');
      if (bytes.length > MAX_BOT_MEMORY_BYTES) throw new RangeError(`the bot memory of ${conversationId} would be ${bytes.length} bytes, more than ${MAX_BOT_MEMORY_BYTES}`);
      await deps.blobs.put(botMemoryKey(conversationId), bytes, deps.ttlMs);
    },
  };
}
