import type { WebSocket } from 'ws';
import type { Actor } from '../conversation.types.ts';
import { ERROR_CATALOGUE, type ErrorCode } from '../../../kernel/errors.ts';
import type { Logger } from '../../../kernel/logger.ts';
import type { Principal } from '../../../kernel/principal.ts';
import type { ClientFrame } from './frames.ts';
import { actorOf, type Session } from './ws.types.ts';

/** What every socket of a node shares: one object per node, not per socket. */
export interface SocketSessionOptions {
  /** Bytes the socket may have waiting for its client before it is closed (SLOW_CONSUMER). */
  readonly maxBufferedBytes: number;
  /** How long the client has to answer our close before the connection is cut. */
  readonly closeGraceMs: number;
  /** Frames per second on average and in one burst (token bucket). */
  readonly ratePerSec: number;
  readonly rateBurst: number;
  /** The node's logger (a socket's lines carry its principal's name). */
  readonly log: Logger;
  /** Unique to this process (node id and a random part): a socket's id is this and a counter. */
  readonly idPrefix: string;
  /** Told each time the server closes a socket, with the catalogue code. */
  readonly onClose?: (code: ErrorCode) => void;
  readonly now?: () => number;
}

let counter = 0;

/**
 * One socket's session, as small as it can be (a node holds tens of thousands, mostly idle): its
 * state in fields and its behaviour on the prototype, no closure, timer, promise or logger of
 * its own. Every frame goes through `send`, which watches `bufferedAmount` (bytes queued in user
 * space and the kernel's send buffer the socket has not taken); past the bound the client is too
 * slow and is closed with SLOW_CONSUMER. It resumes later from its last seq, so nothing is lost.
 * A principal's expiry is checked by the node's heartbeat sweep and at each frame (`expired`).
 */
export class SocketSession implements Session {
  /** Set by any sign of life (a pong, a frame); cleared at each heartbeat. */
  alive = true;
  /** Frames received and not yet handled, in order (undefined when none wait). */
  pending: ClientFrame[] | undefined = undefined;
  private closing = false;
  private killTimer: NodeJS.Timeout | undefined = undefined;
  private tokens: number;
  private refilledAt: number;
  /** Sends handed to ws, and those ws has called back for (written to the kernel, or failed on close). */
  private sent = 0;
  private flushed = 0;
  /** Drains waiting for `flushed` to reach a count, oldest first (undefined when none wait). */
  private drains: { until: number; resolve: () => void }[] | undefined = undefined;
  private readonly seq = ++counter;
  /** The bound callback of `ws.send`, shared by every send of this socket. */
  private readonly onFlushed = (): void => this.flushedOne();

  readonly ws: WebSocket;
  readonly principal: Principal;
  /** The client's address (see Session.ip). */
  readonly ip: string;
  private readonly options: SocketSessionOptions;

  constructor(ws: WebSocket, principal: Principal, ip: string, options: SocketSessionOptions) {
    this.ws = ws;
    this.principal = principal;
    this.ip = ip;
    this.options = options;
    this.tokens = options.rateBurst;
    this.refilledAt = (options.now ?? Date.now)();
  }

  /** Unique per socket across nodes and restarts: the presence lease's name. */
  get id(): string {
    return this.options.idPrefix + this.seq;
  }

  get actor(): Actor {
    return actorOf(this.principal);
  }

  get isOpen(): boolean {
    return !this.closing && this.ws.readyState === this.ws.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** True once the principal's token has expired (services do not expire). */
  expired(now: number): boolean {
    return this.principal.kind !== 'service' && this.principal.expiresAt <= now;
  }

  send(data: string | Buffer): void {
    if (!this.isOpen) return;
    this.sent++;
    this.ws.send(data, { binary: false }, this.onFlushed);
    const max = this.options.maxBufferedBytes;
    if (this.ws.bufferedAmount > max) this.closeWith('SLOW_CONSUMER', `more than ${max} bytes unread: reconnect and resume`);
  }

  /** Settles once every frame sent so far has been handed to the kernel (or failed on close). */
  drain(): Promise<void> {
    if (this.flushed >= this.sent) return Promise.resolve();
    return new Promise<void>((resolve) => (this.drains ??= []).push({ until: this.sent, resolve }));
  }

  closeWith(code: ErrorCode, detail?: string): void {
    if (this.closing) return;
    this.closing = true;
    // The reason is the catalogue code (a close reason holds 123 bytes at most): stable for clients.
    this.ws.close(ERROR_CATALOGUE[code].wsClose, code satisfies ErrorCode);
    this.options.log.debug({ code, detail, principal: this.principal.name }, 'closing the socket');
    this.options.onClose?.(code);
    const ws = this.ws;
    this.killTimer = setTimeout(() => ws.terminate(), this.options.closeGraceMs);
    this.killTimer.unref();
  }

  /** Takes one frame from the rate bucket; false when the client sends faster than allowed. */
  takeFrame(): boolean {
    const t = (this.options.now ?? Date.now)();
    const { rateBurst, ratePerSec } = this.options;
    this.tokens = Math.min(rateBurst, this.tokens + ((t - this.refilledAt) * ratePerSec) / 1000);
    this.refilledAt = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Stops its timer and settles its drains (the socket closed). */
  dispose(): void {
    clearTimeout(this.killTimer);
    this.flushed = this.sent;
    this.settleDrains();
  }

  private flushedOne(): void {
    this.flushed++;
    this.settleDrains();
  }

  private settleDrains(): void {
    const drains = this.drains;
    if (!drains) return;
    while (drains.length > 0 && drains[0]!.until <= this.flushed) drains.shift()!.resolve();
    if (drains.length === 0) this.drains = undefined;
  }
}
