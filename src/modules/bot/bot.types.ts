import type { BusinessKey, ConversationAttribution, Shown } from '../lineage/lineage.types.ts';
import type { QueryResult } from '../query/query.service.ts';
import type { Classification, ConversationEvent, ConversationState, MessageContent } from '../chat/conversation.types.ts';

/**
 * What the bot found out by the time it hands over, attached for the agent (on
 * `conversation.queued`, folded into the state as `botFindings`, shown by the sidebar).
 */
export interface BotFindings {
  /** The intent it settled on: `order_status`, `return`, `complaint`, `faq`, `handoff`, `unknown` … */
  readonly intent?: string;
  /** What it recognised, by kind: `{ order: ['ORD-0001234'], product: ['SKU-MN-04'], email: […] }`. */
  readonly entities?: Readonly<Record<string, readonly string[]>>;
  /** The business records it looked at (lineage keys). */
  readonly records?: readonly BusinessKey[];
  /** One line for the agent: `asked where ORD-0001234 is; shipped 2 days ago; wants a person`. */
  readonly summary?: string;
  /** Why it handed over (set by the bot runner from the reply). */
  readonly reason?: HandoverReason;
}

/** Why the bot hands over. */
export type HandoverReason = 'visitor_asked' | 'not_understood' | 'source_down' | 'bot_failed' | 'form_done' | 'policy';

/**
 * The bot's answer to one visitor message: answer it, ask something back (a question the next
 * message answers, such as which order), hand over to a person (with what it found), or do nothing.
 * Messages are public, in order, authored by the bot.
 */
export type BotReply =
  | { readonly kind: 'answer'; readonly messages: readonly MessageContent[] }
  | { readonly kind: 'ask'; readonly messages: readonly MessageContent[] }
  | { readonly kind: 'handover'; readonly messages?: readonly MessageContent[]; readonly reason: HandoverReason; readonly classification?: Classification; readonly findings: BotFindings }
  | { readonly kind: 'nothing' };

/** The unified query API, attributed to this conversation and message (lineage, spans): the only way a bot reaches business data. */
export interface AttributedQueries {
  /**
   * Calls a capability (query or command) through the query service, with `attribution` set.
   * `shown`: what of the answer the bot will show, and to whom (lineage) — a text, or a function
   * of the answer when the answer itself decides it (evaluated once the call answered).
   */
  call(capability: string, params: Record<string, unknown>, options?: { readonly shown?: Shown; readonly purpose?: string }): Promise<QueryResult>;
  readonly attribution: ConversationAttribution;
}

/** What a bot is given for one public visitor message. */
export interface BotInput {
  readonly conversationId: string;
  readonly state: ConversationState;
  readonly message: Extract<ConversationEvent, { type: 'conversation.message_sent' }>;
  /** The conversation's earlier public messages (visitor's and bot's), oldest first, at most a lookback's worth. */
  readonly earlier: () => Promise<readonly ConversationEvent[]>;
  readonly queries: AttributedQueries;
  /** W3C trace id of this message's handling (the bot's lineage entries carry it). */
  readonly traceId: string;
}

/** The bot seam: a conversation in state `bot` is answered by it until it (or the visitor) hands over. */
export interface Bot {
  /** Its name, recorded in `conversation.bot_engaged` and as the author of its messages. */
  readonly name: string;
  reply(input: BotInput): Promise<BotReply>;
}
