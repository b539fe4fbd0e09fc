import type { ConversationState } from './conversation.types.ts';

/**
 * The seam to the tickets system for a message a visitor leaves when nobody can take the chat
 * (implemented by dispatch's message tickets job). The conversations service calls `enqueue`
 * before it records `message_left`, and the job appends `ticket_opened` through
 * `Conversations.dispatch` once the ticket exists.
 */
export interface LeftMessages {
  /**
   * Makes (or finds) the job that turns the message into a ticket; answers its id, the same for
   * the same conversation (a repeat makes no second job). `state`: the conversation as it is
   * (its visitor, and whether it is a known customer). Throws an AppError when it cannot take it.
   */
  enqueue(conversationId: string, state: ConversationState, message: { readonly text: string; readonly email?: string }): Promise<string>;
}
