import type { ConversationEvent, ConversationState, DeciderCommand, MessageContent } from '../chat/conversation.types.ts';
import type { BotReply } from './bot.types.ts';
import { classify } from './classify.ts';

/** A visitor's message as the bot receives it. */
export type MessageSent = Extract<ConversationEvent, { type: 'conversation.message_sent' }>;

/** The commands a bot issues: its public messages, and the handover. */
export type BotCommand = Extract<DeciderCommand, { type: 'send' | 'handover' }>;

/** The client id of a bot's i-th append in answer to a message: a repeat of the answer (another attempt, another node) appends nothing. */
export const botClientId = (messageId: string, i: number): string => `bot-${messageId}-${i}`;

/** A visitor's public message (what a bot answers). */
export const isVisitorMessage = (e: ConversationEvent): e is MessageSent => e.type === 'conversation.message_sent' && e.by.kind === 'visitor' && e.visibility === 'public';

/**
 * The appends of a reply, in order, each with its client id: its messages (public, by the bot),
 * then the handover. A handover without a classification of the bot's own gets `classify`'s
 * reading of what the visitor said (routing's `bot.*` facts), and its findings the reason.
 */
export function commandsOf(reply: BotReply, message: MessageSent, state: ConversationState, visitorSaid: readonly string[], newId: () => string): { command: BotCommand; clientId: string }[] {
  if (reply.kind === 'nothing') return [];
  const sends: BotCommand[] = (reply.messages ?? []).map((content: MessageContent) => ({ type: 'send', messageId: newId(), content }));
  const handover: BotCommand[] = reply.kind === 'handover'
    ? [{ type: 'handover', reason: reply.reason, classification: reply.classification ?? classify(visitorSaid, state.language), findings: { reason: reply.reason, ...reply.findings } }]
    : [];
  return [...sends, ...handover].map((command, i) => {
    const clientId = botClientId(message.data.messageId, i);
    return { command: command.type === 'send' ? { ...command, clientId } : command, clientId };
  });
}

/** The visitor's texts among events (oldest first). */
export const visitorTexts = (events: readonly ConversationEvent[]): string[] =>
  events.flatMap((e) => (isVisitorMessage(e) && e.data.contentType === 'text' ? [e.data.text] : []));

/** What a bot that failed says before it hands over, in the conversation's language. */
export function failedReply(state: ConversationState, why: string): BotReply {
  const text = state.language?.startsWith('zh') ? '抱歉，我现在无法回答。正在为您转接人工客服。' : 'Sorry, I cannot answer that right now. I am passing you to a person.';
  return { kind: 'handover', reason: 'bot_failed', messages: [{ contentType: 'text', text }], findings: { summary: `the bot failed: ${why}` } };
}
