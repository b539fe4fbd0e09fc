import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WsConfig } from '../../../config/ws-config.ts';
import { AppError, ERROR_CATALOGUE, toAppError, type ErrorCode } from '../../../kernel/errors.ts';
import type { Logger } from '../../../kernel/logger.ts';
import { ATTR_CONVERSATION_ID, inSpan, SpanKind } from '../../../kernel/telemetry.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { isStaff, type Principal } from '../../../kernel/principal.ts';
import type { ChatFanout, FanoutMessage } from '../../../ports/chat-fanout.ts';
import type { PresenceChange, PresenceStore } from '../../../ports/presence-store.ts';
import { createAgentPresence, PRESENCE_TOPIC } from './agent-presence.ts';
import { createConversationFeeds } from './conversation-feeds.ts';
import { AGENT_AWAY_TOPIC, AGENT_FRAME_TOPIC, createAgentSockets, type DispatchFrameType } from './dispatch-frames.ts';
import { FRAME_HANDLERS, TYPING_TOPIC, type FrameContext } from './frame-handlers.ts';
import { errorFrame, frame, type ClientFrame } from './frames.ts';
import type { Protocol } from './protocol.ts';
import { SocketSession, type SocketSessionOptions } from './socket-session.ts';
import { deliverTyping, type TypingSignal } from './typing.ts';
import type { WsConversations } from './ws.types.ts';

/** Client frames that get a span: those that append to a conversation. */
const TRACED_FRAMES: ReadonlySet<ClientFrame['type']> = new Set(['conversation.start', 'message.send', 'command']);

/** The path of the chat socket. */
export const WS_PATH = '/v1/ws';
/** The subprotocol a browser offers (with `bearer.<token>`); the server selects it. */
export const WS_SUBPROTOCOL = 'omnigate.v1';

/** Resolves the upgrade request's credentials (src/modules/auth/upgrade-auth.ts); throws UNAUTHENTICATED, TOKEN_EXPIRED or ORIGIN_NOT_ALLOWED. */
export type UpgradeAuthenticate = (req: IncomingMessage) => Promise<{ principal: Principal; protocol?: string }>;

export interface ChatSocketsDeps {
  readonly server: Server;
  readonly config: WsConfig;
  readonly nodeId: string;
  readonly log: Logger;
  readonly protocol: Protocol;
  readonly authenticate: UpgradeAuthenticate;
  readonly conversations: WsConversations;
  readonly fanout: ChatFanout;
  readonly presence: PresenceStore;
  readonly metrics: Pick<Metrics, 'wsSockets' | 'wsClosed'>;
  /** Told on this node of each change of an agent's presence made here (sockets opening, closing, saying away, leases swept). */
  readonly onPresenceChange?: (change: PresenceChange) => void;
}

/** The chat sockets of this node. */
export interface ChatSockets {
  /** Sockets open now. */
  readonly size: number;
  /** The conversations that visitor sockets of this node follow (queued or not). */
  visitorFollowed(): string[];
  /** A dispatch frame (`queue` …) to the visitor sockets of this node that follow the conversation; how many got it. */
  sendToVisitors(conversationId: string, type: DispatchFrameType, payload: Record<string, unknown>): number;
  /** Refuses new upgrades and closes every socket with SHUTTING_DOWN (1012: reconnect elsewhere), cutting those that do not answer. */
  close(): Promise<void>;
}

/**
 * Serves `/v1/ws` on the gateway's HTTP server: authenticates the upgrade, then runs one session
 * per socket (frames validated from the AsyncAPI document, acks after durable appends, feeds of
 * the followed conversations in seq order), pings every socket each heartbeat and reaps the
 * silent ones, and renews agent presence.
 */
export async function createChatSockets(deps: ChatSocketsDeps): Promise<ChatSockets> {
  const { config } = deps;
  const log = deps.log.child({ module: 'chat-ws' });
  const sessions = new Map<WebSocket, SocketSession>();
  const feeds = createConversationFeeds({ conversations: deps.conversations, log, historyPage: config.historyPage, pauseAtBytes: Math.floor(config.maxBufferedBytes / 2) });
  const presence = createAgentPresence({
    store: deps.presence, fanout: deps.fanout, sessions: () => sessions.values(), ttlMs: config.presenceTtlMs, log,
    ...(deps.onPresenceChange === undefined ? {} : { onChange: deps.onPresenceChange }),
  });
  const agents = createAgentSockets({ presence, log });
  const ctx: FrameContext = { conversations: deps.conversations, feeds, fanout: deps.fanout, presence };
  let closing = false;
  const pendingLeaves = new Set<Promise<void>>();
  // Shared by every socket of this node; a socket's id is the prefix and a counter (unique across nodes and restarts).
  const sessionOptions: SocketSessionOptions = {
    maxBufferedBytes: config.maxBufferedBytes, closeGraceMs: config.closeGraceMs, ratePerSec: config.ratePerSec, rateBurst: config.rateBurst, log,
    idPrefix: `${deps.nodeId}.${randomBytes(6).toString('base64url')}.`,
    onClose: (code) => deps.metrics.wsClosed.inc({ code }),
  };

  const onMessage = (message: FanoutMessage) => {
    if (message.kind === 'event') return feeds.onEvent(message.conversationId, message.seq, message.json);
    if (message.topic === TYPING_TOPIC) return deliverTyping(feeds, message.payload as TypingSignal);
    if (message.topic === PRESENCE_TOPIC) return presence.onSignal(message.payload);
    if (message.topic === AGENT_FRAME_TOPIC) return agents.onFrame(message.payload);
    if (message.topic === AGENT_AWAY_TOPIC) return void agents.onAway(message.payload).catch((err: unknown) => log.warn({ err }, 'could not set an agent away'));
  };
  let subscription: { close(): Promise<void> } | undefined;
  let retry: NodeJS.Timeout | undefined;
  // A Redis that is slow or away at start must not keep the node down: it serves sockets, which
  // catch up from the store once the fan-out is subscribed.
  const subscribe = async (attempt: number): Promise<void> => {
    try {
      subscription = await deps.fanout.subscribe(onMessage);
      if (closing) return void (await subscription.close());
      if (attempt > 0) {
        log.info('chat fan-out subscribed');
        feeds.catchUpAll();
      }
    } catch (err) {
      if (closing) return;
      log.warn({ err, attempt }, 'chat fan-out not subscribed: trying again');
      retry = setTimeout(() => void subscribe(attempt + 1), Math.min(10_000, 250 * 2 ** attempt));
      retry.unref();
    }
  };
  await subscribe(0);
  deps.fanout.onResubscribed(() => feeds.catchUpAll());

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    // A browser that offered subprotocols fails a connection that selects none, and would not see our close code.
    handleProtocols: (offered) => (offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // Until ws takes the socket over (it has its own listener then); one shared function, not a
    // closure per socket that would keep the request alive as long as the socket.
    socket.on('error', onUpgradeSocketError);
    const auth = closing ? Promise.reject(new AppError('SHUTTING_DOWN', 'this node is shutting down')) : deps.authenticate(req);
    void auth.then(
      ({ principal }) =>
        wss.handleUpgrade(req, socket, head, (ws) => {
          socket.off('error', onUpgradeSocketError);
          open(ws, principal, req.socket.remoteAddress ?? 'unknown');
        }),
      (err: unknown) =>
        // Accepted, then closed with the code: a browser sees the code, not a failed handshake.
        wss.handleUpgrade(req, socket, head, (ws) => {
          socket.off('error', onUpgradeSocketError);
          const error = toAppError(err);
          if (error.code === 'INTERNAL') log.error({ err }, 'upgrade authentication failed');
          deps.metrics.wsClosed.inc({ code: error.code });
          ws.close(ERROR_CATALOGUE[error.code].wsClose, error.code);
          setTimeout(() => ws.terminate(), config.closeGraceMs).unref();
        }),
    );
  };
  const onUpgradeSocketError = (err: Error) => log.debug({ err }, 'upgrade socket error');
  deps.server.on('upgrade', onUpgrade);

  // The listeners of every socket: shared functions (`this` is the socket), not closures per socket.
  function onPong(this: WebSocket): void {
    const session = sessions.get(this);
    if (session) session.alive = true;
  }
  function onSocketMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
    const session = sessions.get(this);
    if (session) onFrame(session, data, isBinary);
  }
  function onSocketError(this: WebSocket, err: Error): void {
    log.debug({ err, principal: sessions.get(this)?.principal.name }, 'socket error');
  }
  function onSocketClose(this: WebSocket): void {
    const session = sessions.get(this);
    if (!session) return;
    sessions.delete(this);
    deps.metrics.wsSockets.dec({ kind: session.principal.kind });
    session.dispose();
    session.pending = undefined;
    feeds.drop(session);
    agents.remove(session);
    const leaving = presence.leave(session).catch((err: unknown) => log.warn({ err }, 'could not clear a closed socket\'s presence'));
    // A stopping node waits for these before its Redis connection closes.
    pendingLeaves.add(leaving);
    void leaving.finally(() => pendingLeaves.delete(leaving));
  }

  function open(ws: WebSocket, principal: Principal, ip: string): void {
    if (closing) {
      ws.close(ERROR_CATALOGUE.SHUTTING_DOWN.wsClose, 'SHUTTING_DOWN');
      return;
    }
    const session = new SocketSession(ws, principal, ip, sessionOptions);
    sessions.set(ws, session);
    agents.add(session);
    deps.metrics.wsSockets.inc({ kind: principal.kind });
    ws.on('pong', onPong);
    ws.on('message', onSocketMessage);
    ws.on('error', onSocketError);
    ws.on('close', onSocketClose);
    if (session.expired(Date.now())) return session.closeWith('TOKEN_EXPIRED', 'the token has expired: reconnect with a fresh one');
    session.send(frame('welcome', { node: deps.nodeId, principal: { kind: principal.kind, id: idOf(principal) }, heartbeatMs: config.heartbeatMs }));
    if (principal.kind === 'agent') void presence.set(session, 'online').catch((err: unknown) => log.warn({ err }, 'could not set presence'));
    if (isStaff(principal)) void presence.sendCurrent(session).catch((err: unknown) => log.warn({ err }, 'could not read presence'));
  }

  function onFrame(session: SocketSession, data: Buffer, isBinary: boolean): void {
    session.alive = true;
    if (session.expired(Date.now())) return session.closeWith('TOKEN_EXPIRED', 'the token has expired: reconnect with a fresh one');
    if (!session.takeFrame()) return session.closeWith('RATE_LIMITED', `more than ${config.ratePerSec} frames per second`);
    let parsed: ClientFrame;
    try {
      if (isBinary) throw new AppError('VALIDATION_FAILED', 'frames are JSON text, not binary');
      parsed = deps.protocol.parseClientFrame(data.toString('utf8'));
    } catch (err) {
      return session.send(errorFrame(toAppError(err)));
    }
    // Frames of one socket are handled one after the other: its messages are stored in the order it sent them.
    if (session.pending) return void session.pending.push(parsed);
    session.pending = [parsed];
    void handleInOrder(session);
  }

  async function handleInOrder(session: SocketSession): Promise<void> {
    await undefined;
    for (let next = session.pending?.shift(); next; next = session.pending?.shift()) await handle(session, next);
    session.pending = undefined;
  }

  async function handle(session: SocketSession, parsed: ClientFrame): Promise<void> {
    if (!session.isOpen) return;
    try {
      const run = () => (FRAME_HANDLERS[parsed.type] as (c: FrameContext, s: SocketSession, f: ClientFrame) => Promise<void>)(ctx, session, parsed);
      // A frame that changes a conversation starts a trace of its own (no instrumentation knows
      // ws frames): what it causes — the bot's job, queries, connector calls — continues it.
      if (TRACED_FRAMES.has(parsed.type)) {
        const conversationId = 'conversationId' in parsed ? parsed.conversationId : undefined;
        await inSpan(`ws ${parsed.type}`, { kind: SpanKind.SERVER, attributes: { 'omnigate.ws.frame': parsed.type, 'omnigate.principal.kind': session.principal.kind, ...(conversationId ? { [ATTR_CONVERSATION_ID]: conversationId } : {}) } }, run);
      } else {
        await run();
      }
    } catch (err) {
      const error = toAppError(err);
      if (error.code === 'INTERNAL') log.error({ err, type: parsed.type }, 'a frame failed');
      const conversationId = 'conversationId' in parsed ? parsed.conversationId : undefined;
      session.send(errorFrame(conversationId === undefined || 'conversationId' in error.extensions ? error : withConversation(error, conversationId), 'id' in parsed ? parsed.id : undefined));
    }
  }

  // One sweep per node each heartbeat: reaps the silent sockets and ends those whose token expired
  // (at most one heartbeat after the expiry; a frame after it is refused at once, see onFrame).
  const heartbeat = setInterval(() => {
    const now = Date.now();
    for (const session of sessions.values()) {
      if (session.expired(now)) {
        session.closeWith('TOKEN_EXPIRED', 'the token has expired: reconnect with a fresh one');
        continue;
      }
      if (!session.alive) {
        session.closeWith('HEARTBEAT_MISSED', `nothing heard for ${config.heartbeatMs} ms`);
        continue;
      }
      session.alive = false;
    }
    for (const ws of sessions.keys()) if (ws.readyState === ws.OPEN) ws.ping();
    presence.renew().catch((err: unknown) => log.warn({ err }, 'could not renew presence'));
  }, config.heartbeatMs);
  heartbeat.unref();

  return {
    get size() {
      return sessions.size;
    },
    visitorFollowed: () => feeds.followedBy('visitor'),
    sendToVisitors: (conversationId, type, payload) => agents.toVisitors(feeds.followers(conversationId), type, payload),
    async close() {
      closing = true;
      clearInterval(heartbeat);
      const closed = [...sessions.keys()].map((ws) => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve()))));
      for (const session of sessions.values()) session.closeWith('SHUTTING_DOWN', 'this node is shutting down: reconnect and resume');
      await Promise.all(closed);
      await Promise.all(pendingLeaves);
      clearTimeout(retry);
      await subscription?.close();
      log.info('chat sockets closed');
    },
  };
}

const idOf = (p: Principal): string => (p.kind === 'agent' ? p.agentId : p.kind === 'visitor' ? p.visitorId : p.name);

const withConversation = (error: AppError, conversationId: string): AppError =>
  new AppError(error.code satisfies ErrorCode, error.message, { ...error.extensions, conversationId }, { cause: error });
