import { ERROR_CATALOGUE, type AppError } from '../../../kernel/errors.ts';
import type { Card, TransferTarget, Visibility } from '../conversation.types.ts';

/** The frames a client sends, as openapi/asyncapi.yaml declares them (validated before they get here). */
export type ClientFrame =
  | { type: 'conversation.start'; id: string; group?: string; language?: string; subject?: string; topic?: string; page?: string; text?: string }
  | ({ type: 'message.send'; id: string; conversationId: string; visibility?: Visibility } & ({ contentType: 'text'; text: string } | { contentType: 'card'; card: Card }))
  | { type: 'command'; id: string; conversationId: string; command: WsCommandName; to?: TransferTarget; untilMs?: number; reason?: string; offerId?: string; text?: string; email?: string }
  | { type: 'subscribe'; id: string; conversationId: string; afterSeq: number }
  | { type: 'unsubscribe'; id: string; conversationId: string }
  | { type: 'read'; id: string; conversationId: string; upToSeq: number }
  | { type: 'typing'; conversationId: string; isTyping: boolean }
  | { type: 'presence'; id?: string; status: 'online' | 'away' }
  | { type: 'ping'; id: string };

export type ClientFrameType = ClientFrame['type'];
export type ClientFrameOf<T extends ClientFrameType> = Extract<ClientFrame, { type: T }>;

/** State commands a socket may send (read/delivered have frames of their own). */
export type WsCommandName = 'accept' | 'decline' | 'leave_message' | 'transfer' | 'handover' | 'snooze' | 'wake' | 'close' | 'abandon' | 'reopen';

/** Agent presence; `offline` only ever comes from the server (no socket left). */
export type PresenceStatus = 'online' | 'away' | 'offline';

/** The error frame for an error: its catalogue code and title, and the frame id it answers. */
export function errorFrame(err: AppError, id?: string): string {
  const { id: _id, conversationId, ...extensions } = err.extensions as { id?: unknown; conversationId?: unknown } & Record<string, unknown>;
  const frame: Record<string, unknown> = { type: 'error' };
  const frameId = id ?? (typeof _id === 'string' ? _id : undefined);
  if (frameId !== undefined) frame.id = frameId;
  Object.assign(frame, { code: err.code, title: ERROR_CATALOGUE[err.code].title, detail: err.message, retryable: err.retryable });
  if (typeof conversationId === 'string') frame.conversationId = conversationId;
  if (Object.keys(extensions).length > 0) frame.extensions = extensions;
  return JSON.stringify(frame);
}

/**
 * An event frame around the stored event's JSON as it came from the store or the fan-out: no
 * parse and re-serialise per socket; the same string goes to every socket that may see it.
 */
export const eventFrame = (conversationId: string, eventJson: string): string =>
  `{"type":"event","conversationId":${JSON.stringify(conversationId)},"event":${eventJson}}`;

/** Any other server frame. */
export const frame = (type: string, payload: Record<string, unknown>): string => JSON.stringify({ type, ...payload });
