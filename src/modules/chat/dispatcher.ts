import type { ConversationEvent, ConversationState } from './conversation.types.ts';

/**
 * The dispatch seam. The conversations service tells it of every durable append, and asks it
 * before an agent takes a conversation (an accept, a transfer to an agent), so that dispatch
 * state (queues, offers, agents' load) and the conversation's stream agree: the claim is made
 * in dispatch first, then the `assigned` event is appended, idempotent by the claim's token.
 */
export interface Dispatcher {
  readonly name: string;
  /** After every durable append: the events, and the state before and after them. Failures are logged; the events stand. */
  appended(conversationId: string, before: ConversationState, after: ConversationState, events: readonly ConversationEvent[]): Promise<void>;
  /**
   * Before an agent's accept (or a transfer to an agent) is appended. Throws AGENT_AT_CAPACITY
   * (unless `force`: a supervisor's transfer), OFFER_EXPIRED (the named offer is not open for this
   * agent), CONVERSATION_ALREADY_ASSIGNED (another agent's claim is being completed). `offerId`:
   * the id the `assigned` event carries, and the append's client id (idempotent by it); absent
   * when dispatch keeps no state (the manual dispatcher).
   */
  claim(conversationId: string, state: ConversationState, claim: { readonly agentId: string; readonly offerId?: string; readonly force: boolean }): Promise<{ readonly offerId?: string }>;
  /** The claim's append was refused (the conversation moved on meanwhile): give the claim back. */
  unclaim(conversationId: string, agentId: string, offerId: string): Promise<void>;
  /**
   * The agent declines its open offer: the conversation goes back to the queue at its place. Called
   * once the decline is recorded on the stream (`offer_ended`), so an offer made next is recorded
   * after it; OFFER_EXPIRED when the offer is no longer open (the service takes it as ended already).
   */
  decline(conversationId: string, agentId: string, offerId: string): Promise<void>;
}

/** Agents see the queue (`GET /v1/conversations?state=queued`) and accept; first claim wins, nothing is offered. */
export function createManualDispatcher(): Dispatcher {
  return {
    name: 'manual',
    appended: async () => undefined,
    claim: async () => ({}),
    unclaim: async () => undefined,
    decline: async () => undefined,
  };
}
