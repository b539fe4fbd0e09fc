import type { StoredEventBase } from '../../ports/conversation-store.ts';

/**
 * Where a conversation stands. `none` is before it exists; `new` lasts only within the start
 * (it goes on to `bot`, or to `queued` when no bot is configured); `pending` is snoozed,
 * waiting for the customer.
 */
export type ConversationStatus = 'none' | 'new' | 'bot' | 'queued' | 'assigned' | 'pending' | 'closed';

/** Who did something: a visitor, an agent (or supervisor), the bot, or the system (a service key, a timer). */
export interface Actor {
  readonly kind: 'visitor' | 'agent' | 'bot' | 'system';
  readonly id: string;
}

/** `internal`: agents, supervisors and services only (an agent's note, routing detail, a bot finding). */
export type Visibility = 'public' | 'internal';

/** A structured card (an order summary the bot or an agent shares), with the record it came from. */
export interface Card {
  /** What it shows: `order.summary`, `ticket.summary` … */
  readonly kind: string;
  readonly title: string;
  readonly fields?: readonly { readonly label: string; readonly value: string }[];
  /** The business record it was made from (lineage). */
  readonly source?: { readonly capability: string; readonly id: string };
}

/** What a message carries; attachments will join as a third content type. */
export type MessageContent =
  | { readonly contentType: 'text'; readonly text: string }
  | { readonly contentType: 'card'; readonly card: Card };

/** The visitor behind a conversation. */
export interface VisitorRef {
  readonly id: string;
  /** The widget key's name. */
  readonly site: string;
  /** Only when the site proved it (identity verification). */
  readonly customerId?: string;
}

/** Transfer target: one agent, or back to a group's queue. */
export type TransferTarget = { readonly agentId: string } | { readonly group: string };

/** Each event type's data. */
export interface EventDataMap {
  'conversation.created': { readonly visitor: VisitorRef; readonly group?: string; readonly language?: string; readonly subject?: string };
  'conversation.bot_engaged': { readonly bot: string };
  'conversation.queued': { readonly reason: 'no_bot' | 'handover' | 'agent_timeout' | 'woke' | 'reopened'; readonly group?: string };
  'conversation.assigned': { readonly agentId: string };
  'conversation.transferred': { readonly fromAgentId?: string; readonly to: TransferTarget; readonly reason?: string };
  'conversation.message_sent': { readonly messageId: string; readonly clientId?: string; readonly author: Actor; readonly visibility: Visibility } & MessageContent;
  'conversation.delivered': { readonly participant: Actor; readonly upToSeq: number };
  'conversation.read': { readonly participant: Actor; readonly upToSeq: number };
  'conversation.snoozed': { readonly untilMs?: number };
  'conversation.woke': { readonly reason: 'customer_replied' | 'snooze_ended' | 'agent' };
  'conversation.closed': { readonly reason: 'resolved' | 'abandoned' | 'idle' };
  'conversation.reopened': Record<string, never>;
}

export type EventType = keyof EventDataMap;

/** One stored event of a conversation; `by` is who caused it, `visibility` who may see it. */
export type ConversationEvent = {
  readonly [K in EventType]: StoredEventBase & { readonly type: K; readonly by: Actor; readonly visibility: Visibility; readonly data: EventDataMap[K] };
}[EventType];
