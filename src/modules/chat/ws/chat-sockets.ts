import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WsConfig } from '../../../config/ws-config.ts';
import { AppError, ERROR_CATALOGUE, toAppError, type ErrorCode } from '../../../kernel/errors.ts';
import type { Logger } from '../../../kernel/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { isStaff, type Principal } from '../../../kernel/principal.ts';
import type { ChatFanout, FanoutMessage } from '../../../ports/chat-fanout.ts';
import type { PresenceStore } from '../../../ports/presence-store.ts';
import { createAgentPresence, PRESENCE_TOPIC } from './agent-presence.ts';
import { createConversationFeeds } from './conversation-feeds.ts';
import { FRAME_HANDLERS, TYPING_TOPIC, type FrameContext } from './frame-handlers.ts';
import { errorFrame, frame, type ClientFrame } from './frames.ts';
import type { Protocol } from './protocol.ts';
import { createSocketSession, type SocketSession } from './socket-session.ts';
import { deliverTyping, type TypingSignal } from './typing.ts';
import type { WsConversations } from './ws.types.ts';

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
}

/** The chat sockets of this node. */
export interface ChatSockets {
  /** Sockets open now. */
  readonly size: number;
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
  const presence = createAgentPresence({ store: deps.presence, fanout: deps.fanout, sessions: () => sessions.values(), ttlMs: config.presenceTtlMs, log });
  const ctx: FrameContext = { conversations: deps.conversations, feeds, fanout: deps.fanout, presence };
  let closing = false;
  const pendingLeaves = new Set<Promise<void>>();

  const onMessage = (message: FanoutMessage) => {
    if (message.kind === 'event') return feeds.onEvent(message.conversationId, message.seq, message.json);
    if (message.topic === TYPING_TOPIC) return deliverTyping(feeds, message.payload as TypingSignal);
    if (message.topic === PRESENCE_TOPIC) return presence.onSignal(message.payload);
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
    socket.on('error', (err) => log.debug({ err }, 'upgrade socket error'));
    const auth = closing ? Promise.reject(new AppError('SHUTTING_DOWN', 'this node is shutting down')) : deps.authenticate(req);
    void auth.then(
      ({ principal }) => wss.handleUpgrade(req, socket, head, (ws) => open(ws, principal, req.socket.remoteAddress ?? 'unknown')),
      (err: unknown) =>
        // Accepted, then closed with the code: a browser sees the code, not a failed handshake.
        wss.handleUpgrade(req, socket, head, (ws) => {
          const error = toAppError(err);
          if (error.code === 'INTERNAL') log.error({ err }, 'upgrade authentication failed');
          deps.metrics.wsClosed.inc({ code: error.code });
          ws.close(ERROR_CATALOGUE[error.code].wsClose, error.code);
          setTimeout(() => ws.terminate(), config.closeGraceMs).unref();
        }),
    );
  };
  deps.server.on('upgrade', onUpgrade);

  function open(ws: WebSocket, principal: Principal, ip: string): void {
    if (closing) {
      ws.close(ERROR_CATALOGUE.SHUTTING_DOWN.wsClose, 'SHUTTING_DOWN');
      return;
    }
    const session = createSocketSession(ws, principal, { ...config, ip, log: log.child({ principal: principal.name }), onClose: (code) => deps.metrics.wsClosed.inc({ code }) });
    sessions.set(ws, session);
    deps.metrics.wsSockets.inc({ kind: principal.kind });
    ws.on('pong', () => void (session.alive = true));
    ws.on('message', (data, isBinary) => onFrame(session, data as Buffer, isBinary));
    ws.on('error', (err) => log.debug({ err, principal: principal.name }, 'socket error'));
    ws.on('close', () => {
      sessions.delete(ws);
      deps.metrics.wsSockets.dec({ kind: principal.kind });
      session.dispose();
      feeds.drop(session);
      const leaving = presence.leave(session).catch((err: unknown) => log.warn({ err }, 'could not clear a closed socket\'s presence'));
      // A stopping node waits for these before its Redis connection closes.
      pendingLeaves.add(leaving);
      void leaving.finally(() => pendingLeaves.delete(leaving));
    });
    session.send(frame('welcome', { node: deps.nodeId, principal: { kind: principal.kind, id: idOf(principal) }, heartbeatMs: config.heartbeatMs }));
    if (principal.kind === 'agent') void presence.set(session, 'online').catch((err: unknown) => log.warn({ err }, 'could not set presence'));
    if (isStaff(principal)) void presence.sendCurrent(session).catch((err: unknown) => log.warn({ err }, 'could not read presence'));
  }

  /** Frames of one socket are handled one after the other: its messages are stored in the order it sent them. */
  const queues = new WeakMap<SocketSession, Promise<void>>();

  function onFrame(session: SocketSession, data: Buffer, isBinary: boolean): void {
    session.alive = true;
    if (!session.takeFrame()) return session.closeWith('RATE_LIMITED', `more than ${config.ratePerSec} frames per second`);
    let parsed: ClientFrame;
    try {
      if (isBinary) throw new AppError('VALIDATION_FAILED', 'frames are JSON text, not binary');
      parsed = deps.protocol.parseClientFrame(data.toString('utf8'));
    } catch (err) {
      return session.send(errorFrame(toAppError(err)));
    }
    queues.set(session, (queues.get(session) ?? Promise.resolve()).then(() => handle(session, parsed)));
  }

  async function handle(session: SocketSession, parsed: ClientFrame): Promise<void> {
    if (!session.isOpen) return;
    try {
      await (FRAME_HANDLERS[parsed.type] as (c: FrameContext, s: SocketSession, f: ClientFrame) => Promise<void>)(ctx, session, parsed);
    } catch (err) {
      const error = toAppError(err);
      if (error.code === 'INTERNAL') log.error({ err, type: parsed.type }, 'a frame failed');
      const conversationId = 'conversationId' in parsed ? parsed.conversationId : undefined;
      session.send(errorFrame(conversationId === undefined || 'conversationId' in error.extensions ? error : withConversation(error, conversationId), 'id' in parsed ? parsed.id : undefined));
    }
  }

  const heartbeat = setInterval(() => {
    for (const session of sessions.values()) {
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
