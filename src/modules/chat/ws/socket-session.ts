import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { ERROR_CATALOGUE, type ErrorCode } from '../../../kernel/errors.ts';
import type { Logger } from '../../../kernel/logger.ts';
import type { Principal } from '../../../kernel/principal.ts';
import { actorOf, type Session } from './ws.types.ts';

/** The longest a timer may wait in Node (about 24.8 days); a later expiry is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SocketSessionOptions {
  /** The client's address (see Session.ip). */
  readonly ip: string;
  /** Bytes the socket may have waiting for its client before it is closed (SLOW_CONSUMER). */
  readonly maxBufferedBytes: number;
  /** How long the client has to answer our close before the connection is cut. */
  readonly closeGraceMs: number;
  /** Frames per second on average and in one burst (token bucket). */
  readonly ratePerSec: number;
  readonly rateBurst: number;
  /** The socket's own child logger. */
  readonly log: Logger;
  /** Told each time the server closes a socket, with the catalogue code. */
  readonly onClose?: (code: ErrorCode) => void;
}

/** A session plus what the server drives: liveness, the frame rate and the end. */
export interface SocketSession extends Session {
  /** Set by any sign of life (a pong, a frame); cleared at each heartbeat. */
  alive: boolean;
  /** Takes one frame from the rate bucket; false when the client sends faster than allowed. */
  takeFrame(): boolean;
  /** Stops its timers (the socket closed). */
  dispose(): void;
}

/**
 * One socket's writing side: every frame goes through `send`, which watches `bufferedAmount`
 * (bytes queued in user space and the kernel's send buffer the socket has not taken); past the
 * bound the client is too slow and is closed with SLOW_CONSUMER. It resumes later from its last
 * seq, so nothing is lost. A principal with an expiry closes the socket then (TOKEN_EXPIRED).
 */
export function createSocketSession(ws: WebSocket, principal: Principal, options: SocketSessionOptions, now = Date.now): SocketSession {
  let closing = false;
  let killTimer: NodeJS.Timeout | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;
  let tokens = options.rateBurst;
  let refilledAt = now();
  /** Settles once the last frame sent has been handed to the kernel (ws calls back then, or with an error on close). */
  let flushed: Promise<void> = Promise.resolve();

  const session: SocketSession = {
    id: randomUUID(),
    principal,
    ip: options.ip,
    actor: actorOf(principal),
    alive: true,
    get isOpen() {
      return !closing && ws.readyState === ws.OPEN;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    drain: () => flushed,
    send(data) {
      if (!session.isOpen) return;
      flushed = new Promise<void>((resolve) => ws.send(data, { binary: false }, () => resolve()));
      if (ws.bufferedAmount > options.maxBufferedBytes) session.closeWith('SLOW_CONSUMER', `more than ${options.maxBufferedBytes} bytes unread: reconnect and resume`);
    },
    closeWith(code, detail) {
      if (closing) return;
      closing = true;
      // The reason is the catalogue code (a close reason holds 123 bytes at most): stable for clients.
      ws.close(ERROR_CATALOGUE[code].wsClose, code satisfies ErrorCode);
      options.log.debug({ code, detail }, 'closing the socket');
      options.onClose?.(code);
      killTimer = setTimeout(() => ws.terminate(), options.closeGraceMs);
      killTimer.unref();
    },
    takeFrame() {
      const t = now();
      tokens = Math.min(options.rateBurst, tokens + ((t - refilledAt) * options.ratePerSec) / 1000);
      refilledAt = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    dispose() {
      clearTimeout(killTimer);
      clearTimeout(expiryTimer);
    },
  };

  const armExpiry = (expiresAt: number) => {
    const wait = expiresAt - now();
    if (wait <= 0) return session.closeWith('TOKEN_EXPIRED', 'the token has expired: reconnect with a fresh one');
    expiryTimer = setTimeout(() => armExpiry(expiresAt), Math.min(wait, MAX_TIMER_MS));
    expiryTimer.unref();
  };
  if (principal.kind !== 'service') armExpiry(principal.expiresAt);
  return session;
}
