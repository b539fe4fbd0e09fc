import type { ErrorCode } from '../../../kernel/errors.ts';
import type { Principal } from '../../../kernel/principal.ts';
import type { Actor, ConversationEvent, MessageContent, TransferTarget, Visibility } from '../conversation.types.ts';

/** A state command as the conversations service takes it (the socket's `command` and `read` frames). */
export type WsCommand =
  | { readonly type: 'accept' }
  | { readonly type: 'transfer'; readonly to: TransferTarget; readonly reason?: string }
  | { readonly type: 'handover'; readonly reason?: string }
  | { readonly type: 'snooze'; readonly untilMs?: number }
  | { readonly type: 'wake' }
  | { readonly type: 'close'; readonly reason?: 'resolved' }
  | { readonly type: 'abandon' }
  | { readonly type: 'reopen' }
  | { readonly type: 'read'; readonly upToSeq: number };

/** What the socket needs of the conversations service (src/modules/chat/conversations.service.ts). */
export interface WsConversations {
  start(p: Principal, input: { group?: string; language?: string; subject?: string; content?: MessageContent }, clientId?: string): Promise<{ conversationId: string; seq: number; duplicate: boolean }>;
  send(p: Principal, conversationId: string, input: { clientId: string; content: MessageContent; visibility?: Visibility }): Promise<{ seq: number; duplicate: boolean }>;
  command(p: Principal, conversationId: string, command: WsCommand, clientId?: string): Promise<{ seq: number; duplicate: boolean }>;
  history(p: Principal, conversationId: string, range: { afterSeq?: number; untilSeq?: number; limit?: number }): Promise<{ events: ConversationEvent[]; lastSeq: number; hasMore: boolean }>;
  authorize(p: Principal, conversationId: string): Promise<void>;
  /** The conversation as p may see it (NOT_FOUND when it may not); `seq` is its head. */
  get(p: Principal, conversationId: string): Promise<{ readonly seq: number }>;
  visibleTo(p: Principal, event: ConversationEvent): ConversationEvent | undefined;
}

/** One open socket, as the rest of the module sees it. */
export interface Session {
  /** Unique per socket (and node): the presence lease's name. */
  readonly id: string;
  readonly principal: Principal;
  /** Who this socket acts as in a conversation's events. */
  readonly actor: Actor;
  /** Writes one frame; a socket whose unread bytes pass the bound is closed (SLOW_CONSUMER). */
  send(data: string | Buffer): void;
  /** Closes with the catalogue's close code for `code`; the connection is cut if the client does not answer in time. */
  closeWith(code: ErrorCode, detail?: string): void;
  readonly isOpen: boolean;
}

/** The actor a principal is in events. */
export function actorOf(p: Principal): Actor {
  if (p.kind === 'visitor') return { kind: 'visitor', id: p.visitorId };
  if (p.kind === 'agent') return { kind: 'agent', id: p.agentId };
  return { kind: 'system', id: p.name };
}
