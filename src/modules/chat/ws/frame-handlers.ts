import { AppError } from '../../../kernel/errors.ts';
import { annotateActive, conversationAttributes } from '../../../kernel/telemetry.ts';
import type { ChatFanout } from '../../../ports/chat-fanout.ts';
import type { MessageContent } from '../conversation.types.ts';
import type { AgentPresence } from './agent-presence.ts';
import type { ConversationFeeds } from './conversation-feeds.ts';
import { frame, type ClientFrameOf, type ClientFrameType } from './frames.ts';
import type { Session, WsCommand, WsConversations } from './ws.types.ts';

/** The fan-out topic of typing signals (never stored). */
export const TYPING_TOPIC = 'typing';

/** What the frame handlers use. */
export interface FrameContext {
  readonly conversations: WsConversations;
  readonly feeds: ConversationFeeds;
  readonly fanout: Pick<ChatFanout, 'signal'>;
  readonly presence: AgentPresence;
}

type Handler<T extends ClientFrameType> = (ctx: FrameContext, session: Session, frame: ClientFrameOf<T>) => Promise<void>;

const ack = (session: Session, id: string, conversationId: string, r: { seq: number; duplicate: boolean }) => {
  // The frame's span (chat-sockets.ts) learns where the append landed.
  annotateActive(conversationAttributes({ conversationId, messageSeq: r.seq }));
  session.send(frame('ack', { id, conversationId, seq: r.seq, duplicate: r.duplicate }));
};

function commandOf(f: ClientFrameOf<'command'>): WsCommand {
  switch (f.command) {
    case 'accept':
      return { type: 'accept', ...(f.offerId === undefined ? {} : { offerId: f.offerId }) };
    case 'decline':
      if (f.offerId === undefined) throw new AppError('VALIDATION_FAILED', 'decline needs the `offerId` of the offer', { id: f.id, field: 'offerId' });
      return { type: 'decline', offerId: f.offerId };
    case 'leave_message':
      if (f.text === undefined) throw new AppError('VALIDATION_FAILED', 'leave_message needs the `text` of the message', { id: f.id, field: 'text' });
      return { type: 'leave_message', text: f.text, ...(f.email === undefined ? {} : { email: f.email }) };
    case 'transfer':
      if (!f.to) throw new AppError('VALIDATION_FAILED', 'transfer needs `to`: { agentId } or { group }', { id: f.id });
      return { type: 'transfer', to: f.to, ...(f.reason === undefined ? {} : { reason: f.reason }) };
    case 'handover':
      return { type: 'handover', ...(f.reason === undefined ? {} : { reason: f.reason }) };
    case 'snooze':
      return { type: 'snooze', ...(f.untilMs === undefined ? {} : { untilMs: f.untilMs }) };
    case 'close':
      return { type: 'close' };
    default:
      return { type: f.command };
  }
}

/**
 * One handler per client frame type of openapi/asyncapi.yaml (a unit test holds the two sets
 * equal). A frame with an id is acked only after the service resolved, that is once the append
 * is durable; a refusal throws and becomes an error frame.
 */
export const FRAME_HANDLERS: { readonly [T in ClientFrameType]: Handler<T> } = {
  async 'conversation.start'(ctx, session, f) {
    const { id, type: _type, text, ...rest } = f;
    const input = text === undefined ? rest : { ...rest, content: { contentType: 'text', text } as const };
    const r = await ctx.conversations.start(session.principal, input, id, { ip: session.ip });
    ack(session, id, r.conversationId, r);
  },
  async 'message.send'(ctx, session, f) {
    const content: MessageContent = f.contentType === 'text' ? { contentType: 'text', text: f.text } : { contentType: 'card', card: f.card };
    const input = { clientId: f.id, content, ...(f.visibility === undefined ? {} : { visibility: f.visibility }) };
    ack(session, f.id, f.conversationId, await ctx.conversations.send(session.principal, f.conversationId, input));
  },
  async command(ctx, session, f) {
    ack(session, f.id, f.conversationId, await ctx.conversations.command(session.principal, f.conversationId, commandOf(f), f.id));
  },
  async read(ctx, session, f) {
    ack(session, f.id, f.conversationId, await ctx.conversations.command(session.principal, f.conversationId, { type: 'read', upToSeq: f.upToSeq }, f.id));
  },
  async subscribe(ctx, session, f) {
    await ctx.feeds.subscribe(session, f.conversationId, f.afterSeq, f.id);
  },
  async unsubscribe(ctx, session, f) {
    ctx.feeds.unsubscribe(session, f.conversationId);
    session.send(frame('unsubscribed', { id: f.id, conversationId: f.conversationId }));
  },
  async typing(ctx, session, f) {
    // Only to a conversation the socket may follow; a socket that follows it was authorized already.
    if (!ctx.feeds.isFollowing(session, f.conversationId)) await ctx.conversations.authorize(session.principal, f.conversationId);
    await ctx.fanout.signal(TYPING_TOPIC, { conversationId: f.conversationId, participant: session.actor, isTyping: f.isTyping, from: session.id });
  },
  async presence(ctx, session, f) {
    if (session.principal.kind !== 'agent') throw new AppError('FORBIDDEN', 'only agents have a presence', f.id === undefined ? {} : { id: f.id });
    await ctx.presence.set(session, f.status);
  },
  async ping(_ctx, session, f) {
    session.send(frame('pong', { id: f.id }));
  },
};
