import type { ConversationState } from './conversation.types.ts';

/**
 * The dispatch seam: told when a conversation enters the queue (no bot, handover, transfer to a
 * group, an agent who did not answer, a reopen). Routing offers it to an agent, who claims it with
 * `accept` (first claim wins); the manual dispatcher leaves that to agents watching the queue.
 */
export interface Dispatcher {
  readonly name: string;
  queued(conversationId: string, state: ConversationState): Promise<void>;
}

/** Agents see the queue (`GET /v1/conversations?state=queued`) and accept. */
export function createManualDispatcher(): Dispatcher {
  return { name: 'manual', queued: async () => undefined };
}
