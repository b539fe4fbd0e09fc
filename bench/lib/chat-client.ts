// A lean client of the chat protocol (/v1/ws frames): the same code drives the gateway and the raw
// `ws` baseline server (bench/lib/raw-ws-server.ts), which answers the few frames the benches send.
import WebSocket from 'ws';

/** A frame as it travels: `{ type, id?, …payload }`. */
export type Frame = { readonly type: string; readonly id?: string } & Record<string, unknown>;

/** How a socket proves who it is at upgrade. */
export interface SocketAuth {
  readonly headers?: Record<string, string>;
  readonly protocols?: readonly string[];
  /** Appended to the URL (`?ticket=…`). */
  readonly query?: string;
}

export interface ChatSocket {
  readonly welcome: Frame;
  /** Sends a frame without waiting. */
  send(frame: Frame): void;
  /** Sends a frame with an id and resolves with the reply carrying that id (ack, subscribed, pong, or error). */
  request(frame: Frame & { readonly id: string }, timeoutMs?: number): Promise<Frame>;
  /** Every frame that is not a reply to a request (events, typing, presence …). */
  onFrame: ((frame: Frame, receivedAt: number) => void) | undefined;
  /** The close code once closed. */
  closed: Promise<number>;
  close(): void;
}

const REPLIES = new Set(['ack', 'subscribed', 'pong', 'error']);
const DEFAULT_TIMEOUT_MS = 30_000;

/** Opens a socket and waits for `welcome`; rejects on a refusal (close code in the message). */
export function openChatSocket(url: string, auth: SocketAuth, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<ChatSocket> {
  const target = auth.query ? `${url}${url.includes('?') ? '&' : '?'}${auth.query}` : url;
  const ws = new WebSocket(target, auth.protocols ? [...auth.protocols] : undefined, {
    headers: auth.headers ?? {},
    perMessageDeflate: false,
    handshakeTimeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  const pending = new Map<string, (frame: Frame) => void>();
  let welcome: ((frame: Frame) => void) | undefined;
  let resolveClosed!: (code: number) => void;
  const closed = new Promise<number>((r) => (resolveClosed = r));
  const socket: ChatSocket = {
    welcome: { type: 'welcome' },
    onFrame: undefined,
    closed,
    send: (frame) => ws.send(JSON.stringify(frame)),
    request(frame, timeoutMs = DEFAULT_TIMEOUT_MS) {
      return new Promise<Frame>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(frame.id);
          reject(new Error(`no reply to ${frame.type} ${frame.id} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(frame.id, (reply) => {
          clearTimeout(timer);
          resolve(reply);
        });
        ws.send(JSON.stringify(frame));
      });
    },
    close: () => ws.close(1000),
  };
  ws.on('message', (data: Buffer) => {
    const receivedAt = performance.now();
    const frame = JSON.parse(data.toString()) as Frame;
    if (frame.type === 'welcome' && welcome) return welcome(frame);
    if (frame.id !== undefined && REPLIES.has(frame.type)) {
      const reply = pending.get(frame.id);
      if (reply) {
        pending.delete(frame.id);
        return reply(frame);
      }
    }
    socket.onFrame?.(frame, receivedAt);
  });
  ws.on('close', (code) => {
    resolveClosed(code);
    for (const reply of pending.values()) reply({ type: 'error', code: 'CLOSED', detail: `socket closed with ${code}` });
    pending.clear();
  });
  return new Promise<ChatSocket>((resolve, reject) => {
    welcome = (frame) => {
      welcome = undefined;
      resolve(Object.assign(socket, { welcome: frame }));
    };
    ws.on('error', (err) => reject(err)); // after welcome: the close that follows tells
    void closed.then((code) => reject(new Error(`closed with ${code} before welcome`)));
  });
}

/**
 * `request`, sent again with the same id (idempotent) while the answer is a retryable error, as a
 * client should: a transient store time-out on a busy machine must not count as a failed socket.
 */
export async function requestRetrying(socket: ChatSocket, frame: Frame & { readonly id: string }, onRetry?: () => void, attempts = 4): Promise<Frame> {
  for (let attempt = 1; ; attempt++) {
    const reply = await socket.request(frame, 60_000);
    if (reply.type !== 'error' || reply.retryable !== true || attempt >= attempts) return reply;
    onRetry?.();
    await new Promise((r) => setTimeout(r, 100 * attempt));
  }
}

/** Throws unless the reply is the expected type (an `error` frame's code in the message). */
export function expectReply(reply: Frame, type: string): Frame {
  if (reply.type !== type) throw new Error(`expected ${type}, got ${reply.type}: ${JSON.stringify(reply).slice(0, 300)}`);
  return reply;
}

/** Runs `task` over `items` with at most `limit` at a time. */
export async function inBatches<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
