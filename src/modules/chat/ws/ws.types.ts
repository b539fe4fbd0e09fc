import type { ErrorCode } from '../../../kernel/errors.ts';
import type { Principal } from '../../../kernel/principal.ts';
import type { Actor, ConversationCommand } from '../conversation.types.ts';
import type { Conversations } from '../conversations.service.ts';

/** What the socket needs of the conversations service. */
export type WsConversations = Pick<Conversations, 'start' | 'send' | 'command' | 'history' | 'authorize' | 'get' | 'visibleTo'>;

/** A state command as the conversations service takes it (the socket's `command` and `read` frames). */
export type WsCommand = ConversationCommand;

/** One open socket, as the rest of the module sees it. */
export interface Session {
  /** Unique per socket (and node): the presence lease's name. */
  readonly id: string;
  readonly principal: Principal;
  /** The client's address, as the socket sees it (a visitor's new conversations are limited per address). */
  readonly ip: string;
  /** Who this socket acts as in a conversation's events. */
  readonly actor: Actor;
  /** Writes one frame; a socket whose unread bytes pass the bound is closed (SLOW_CONSUMER). */
  send(data: string | Buffer): void;
  /** Bytes written and not yet taken by the client. */
  readonly bufferedAmount: number;
  /** Resolves once everything sent so far has left the process (or the socket closed): catch-up reads pace themselves on it. */
  drain(): Promise<void>;
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
