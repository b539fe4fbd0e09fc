import type { ConversationEvent, ConversationState, MessageContent } from './conversation.types.ts';

/** What a bot does in answer to a visitor's message: say something, note a finding for the agents, or hand over to a person. */
export type BotAction =
  | { readonly type: 'send'; readonly content: MessageContent }
  | { readonly type: 'note'; readonly content: MessageContent }
  | { readonly type: 'handover'; readonly reason?: string };

/** The bot seam: a conversation in state `bot` is answered by it until it (or the visitor) hands over. */
export interface Bot {
  /** Its name, recorded in `conversation.bot_engaged` and as the author of its messages. */
  readonly name: string;
  /** Its answer to one public visitor message; its actions are appended in order, as the bot. */
  reply(input: { readonly conversationId: string; readonly state: ConversationState; readonly message: Extract<ConversationEvent, { type: 'conversation.message_sent' }> }): Promise<BotAction[]>;
}

/** Words after which the built-in bot hands over to a person. */
const HANDOVER = /\b(agent|human|person)\b|转人工/i;

/** A tiny rule bot (`OMNIGATE_CHAT_BOT=builtin`): it greets, and hands over on "agent" or "转人工" with a note for the agents. */
export function createRuleBot(): Bot {
  return {
    name: 'builtin',
    async reply({ message }) {
      const text = message.data.contentType === 'text' ? message.data.text : '';
      if (HANDOVER.test(text)) {
        return [
          { type: 'note', content: { contentType: 'text', text: 'bot finding: the visitor asked for a person' } },
          { type: 'handover', reason: 'visitor_asked' },
        ];
      }
      return [{ type: 'send', content: { contentType: 'text', text: 'I am the Omnigate bot. Say "agent" (or 转人工) to talk to a person.' } }];
    },
  };
}

/** The configured bot: none (new conversations go straight to the queue) or the built-in one. */
export const botFor = (kind: 'none' | 'builtin'): Bot | undefined => (kind === 'builtin' ? createRuleBot() : undefined);
