import type { Actor } from '../conversation.types.ts';
import type { ConversationFeeds } from './conversation-feeds.ts';
import { frame } from './frames.ts';

/** What a typing signal carries between nodes: `from` is the sending socket, which does not get it back. */
export interface TypingSignal {
  readonly conversationId: string;
  readonly participant: Actor;
  readonly isTyping: boolean;
  readonly from: string;
}

/** Writes a typing signal to this node's sockets that follow the conversation, framed once. */
export function deliverTyping(feeds: ConversationFeeds, signal: TypingSignal): void {
  let data: Buffer | undefined;
  for (const session of feeds.followers(signal.conversationId)) {
    if (session.id === signal.from) continue;
    session.send((data ??= Buffer.from(frame('typing', { conversationId: signal.conversationId, participant: signal.participant, isTyping: signal.isTyping }))));
  }
}
