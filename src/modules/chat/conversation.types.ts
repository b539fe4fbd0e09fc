import type { StoredEventBase } from '../../ports/conversation-store.ts';
import type { BotFindings } from '../bot/bot.types.ts';
import type { OverflowTarget, RoutingDecision } from '../dispatch/routing.types.ts';

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

/** What the bot made of the conversation when it handed over: routing reads it as `bot.*` facts. */
export interface Classification {
  readonly intent?: string;
  readonly language?: string;
  readonly skills?: readonly string[];
}

/** An offer to one agent, as the stream records it (the dispatch state has the live one). */
export interface OfferRecord {
  readonly offerId: string;
  readonly agentId: string;
  /** RFC 3339. */
  readonly expiresAt: string;
  readonly autoAssign: boolean;
  /** `sticky`: the customer's last agent; `least_busy`: lowest load among the eligible, ties to the longest idle. */
  readonly reason: 'sticky' | 'least_busy';
  /** The eligible agents looked at, best first (at most 10). */
  readonly candidates: readonly { readonly agentId: string; readonly load: number; readonly maxConcurrent: number; readonly idleSinceMs: number }[];
  /** Queued conversations ahead of this one that no free agent could take. */
  readonly passedOver: number;
}

/** Each event type's data. */
export interface EventDataMap {
  /** Public: what the visitor said of itself. The group it was started for is routing detail: it is in the internal event that follows (bot_engaged or queued). */
  'conversation.created': { readonly visitor: VisitorRef; readonly language?: string; readonly subject?: string; readonly topic?: string; readonly page?: string };
  'conversation.bot_engaged': { readonly bot: string; readonly group?: string };
  'conversation.queued': { readonly reason: 'no_bot' | 'handover' | 'agent_timeout' | 'transferred' | 'reopened'; readonly group?: string; readonly classification?: Classification; readonly findings?: BotFindings };
  /** `offerId`: the offer (or the claim) it completes; the append is idempotent by it. */
  'conversation.assigned': { readonly agentId: string; readonly offerId?: string };
  /** Internal: the routing decision made at enqueue (rules, facts and their sources, what was missing). */
  'conversation.routed': { readonly decision: RoutingDecision };
  /** Internal: offered to one agent (who has until `expiresAt` to accept), and why that agent. */
  'conversation.offered': OfferRecord;
  /** Internal: an offer that ended without an assignment: it expired, the agent declined, or another claim took the conversation. */
  'conversation.offer_ended': { readonly offerId: string; readonly agentId: string; readonly outcome: 'expired' | 'declined' | 'cancelled' };
  /** Internal: its group could not take it; it moved to another group's queue, or to leaving a message. */
  'conversation.overflowed': { readonly fromGroup?: string; readonly to: OverflowTarget; readonly reason: 'nobody_online' | 'closed' | 'wait_exceeded' };
  /** Public: the visitor is asked to leave a message (nobody can take the chat now); an anonymous one must give an email. */
  'conversation.message_requested': { readonly reason: 'nobody_online' | 'closed' | 'wait_exceeded'; readonly emailRequired: boolean };
  /** Public: the visitor left a message; it becomes a ticket (job `ticketJobId`), and the conversation closes (`left_message`). */
  'conversation.message_left': { readonly text: string; readonly email?: string; readonly ticketJobId: string };
  /** Public: the ticket made from the visitor's message exists in the tickets system. */
  'conversation.ticket_opened': { readonly ticketId: string; readonly ticketJobId: string };
  'conversation.transferred': { readonly fromAgentId?: string; readonly to: TransferTarget; readonly reason?: string };
  'conversation.message_sent': { readonly messageId: string; readonly clientId?: string; readonly author: Actor; readonly visibility: Visibility } & MessageContent;
  'conversation.delivered': { readonly participant: Actor; readonly upToSeq: number };
  'conversation.read': { readonly participant: Actor; readonly upToSeq: number };
  'conversation.snoozed': { readonly untilMs?: number };
  'conversation.woke': { readonly reason: 'customer_replied' | 'snooze_ended' | 'agent' };
  'conversation.closed': { readonly reason: 'resolved' | 'abandoned' | 'idle' | 'left_message' };
  'conversation.reopened': Record<string, never>;
}

export type EventType = keyof EventDataMap;

/** One stored event of a conversation; `by` is who caused it, `visibility` who may see it. */
export type ConversationEvent = {
  readonly [K in EventType]: StoredEventBase & { readonly type: K; readonly by: Actor; readonly visibility: Visibility; readonly data: EventDataMap[K] };
}[EventType];

/** An event as `decide` returns it: the service numbers it and gives it its id and time. */
export type DecidedEvent = ConversationEvent extends infer E ? (E extends ConversationEvent ? Omit<E, 'seq' | 'id' | 'at'> : never) : never;

/** Who issues a command: the actor kinds of the transition table. */
export type ActorKind = Actor['kind'];

/**
 * The state commands a participant issues (REST `POST /v1/conversations/{id}/{command}`, the
 * socket's `command`, `read` and `delivered` frames). `accept` by a system actor names the agent.
 */
export type ConversationCommand =
  | { readonly type: 'accept'; readonly agentId?: string; readonly offerId?: string }
  | { readonly type: 'decline'; readonly offerId: string }
  /** `ticketJobId` is set by the service (the job that makes the ticket), never by the caller. */
  | { readonly type: 'leave_message'; readonly text: string; readonly email?: string; readonly ticketJobId?: string }
  /** `offerId` is set by the service (dispatch's claim for the agent it goes to), never by the caller. */
  | { readonly type: 'transfer'; readonly to: TransferTarget; readonly reason?: string; readonly offerId?: string }
  /**
   * `classification`: what the bot made of the conversation, carried into `conversation.queued`
   * for routing's `bot.*` facts; `findings`: what it found, for the agent (folded into
   * `botFindings`). Only the bot's count (the decider drops anyone else's); the REST and socket
   * handovers take neither, so neither a visitor nor staff can steer routing or forge findings.
   */
  | { readonly type: 'handover'; readonly reason?: string; readonly classification?: Classification; readonly findings?: BotFindings }
  | { readonly type: 'snooze'; readonly untilMs?: number }
  | { readonly type: 'wake' }
  | { readonly type: 'close'; readonly reason?: 'resolved' | 'idle' }
  | { readonly type: 'abandon' }
  | { readonly type: 'reopen' }
  | { readonly type: 'read'; readonly upToSeq: number }
  | { readonly type: 'delivered'; readonly upToSeq: number };

/** Every command the decider knows: the state commands, plus starting, messages, notes and the answer timer's requeue. */
export type DeciderCommand =
  | ConversationCommand
  | { readonly type: 'start'; readonly visitor: VisitorRef; readonly group?: string; readonly language?: string; readonly subject?: string; readonly topic?: string; readonly page?: string }
  | { readonly type: 'send'; readonly messageId: string; readonly clientId?: string; readonly content: MessageContent }
  | { readonly type: 'note'; readonly messageId: string; readonly clientId?: string; readonly content: MessageContent }
  | { readonly type: 'requeue' }
  // Dispatch's own (system only): its decision, its offers, overflow, and the ticket of a left message.
  | { readonly type: 'route'; readonly decision: RoutingDecision }
  | { readonly type: 'offer'; readonly offer: OfferRecord }
  | { readonly type: 'end_offer'; readonly offerId: string; readonly agentId: string; readonly outcome: 'expired' | 'declined' | 'cancelled' }
  | { readonly type: 'overflow'; readonly to: OverflowTarget; readonly reason: 'nobody_online' | 'closed' | 'wait_exceeded' }
  | { readonly type: 'ticket_opened'; readonly ticketId: string; readonly ticketJobId: string };

export type CommandType = DeciderCommand['type'];

/** The last public message: who spoke last decides which timer runs (visitor idle, or agent has not answered). */
export interface LastMessage {
  readonly seq: number;
  readonly at: string;
  readonly author: ActorKind;
}

/** A conversation's state: the fold of its events (`evolve`), cached as the store's snapshot. */
export interface ConversationState {
  readonly status: ConversationStatus;
  /** The seq of the last event folded (0 before it exists). */
  readonly seq: number;
  readonly visitor?: VisitorRef;
  readonly group?: string;
  readonly language?: string;
  readonly subject?: string;
  readonly bot?: string;
  /** The seq of the last event that moved it (its status or its agent changed): timers count from here. */
  readonly sinceSeq?: number;
  /** The agent it is (or, once closed, was last) assigned to. */
  readonly agentId?: string;
  readonly createdAt?: string;
  readonly updatedAt?: string;
  readonly closedAt?: string;
  readonly closeReason?: EventDataMap['conversation.closed']['reason'];
  /** Epoch ms at which a snooze ends (absent: until the customer replies). */
  readonly snoozedUntilMs?: number;
  readonly lastMessage?: LastMessage;
  readonly messageCount: number;
  /** Last read seq per participant (`<kind>:<id>`). */
  readonly readUpTo: Readonly<Record<string, number>>;
  /** Last delivered seq per participant (`<kind>:<id>`). */
  readonly deliveredUpTo: Readonly<Record<string, number>>;
  /** What the visitor's widget said at start: the topic chosen and the page it was on. */
  readonly topic?: string;
  readonly page?: string;
  /** The routing decision's priority (`conversation.routed`); the group it chose is `group`. */
  readonly priority?: number;
  /** The open offer to one agent, until it ends (`offer_ended`) or is accepted (`assigned` with its id). */
  readonly offer?: { readonly offerId: string; readonly agentId: string; readonly expiresAt: string };
  /** The visitor was asked to leave a message (`message_requested`) and has not yet. */
  readonly awaitingMessage?: boolean;
  /** The job that makes a ticket of the message the visitor left (`message_left`). */
  readonly ticketJobId?: string;
  /** The ticket made of it, once it exists (`ticket_opened`). */
  readonly ticketId?: string;
  /** What the bot found before it handed over (the last `queued` that carried findings): for the agent. */
  readonly botFindings?: BotFindings;
}
