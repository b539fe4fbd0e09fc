import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { createProtocol, loadAsyncApi } from '../../src/modules/chat/ws/protocol.ts';
import { ROOT_DIR } from './gateway.ts';
import { waitFor } from './wait.ts';

/** A frame the gateway sent, parsed. */
export type Frame = { type: string } & Record<string, unknown>;

// Every frame the gateway sends in a test is checked against the AsyncAPI document.
const protocol = createProtocol(loadAsyncApi(ROOT_DIR));

/** How a test client authenticates at upgrade. */
export interface WsConnectOptions {
  /** `Authorization: Bearer <token>` (an API key, agent JWT or visitor token). */
  readonly token?: string;
  /** `X-Api-Key`. */
  readonly apiKey?: string;
  /** Subprotocols offered, e.g. `['omnigate.v1', 'bearer.<token>']` (what a browser does). */
  readonly protocols?: readonly string[];
  readonly headers?: Record<string, string>;
  /** Query string (e.g. `ticket=…`). */
  readonly query?: string;
  /** The client's own address (in 127.0.0.0/8), for tests of per-address limits. */
  readonly localAddress?: string;
}

export interface WsTestClient {
  readonly ws: WebSocket;
  /** Every frame received so far, in order. */
  readonly frames: Frame[];
  /** Frames that broke the AsyncAPI document (should stay empty). */
  readonly invalid: { frame: unknown; problems: string[] }[];
  send(frame: Record<string, unknown> | string): void;
  /** Sends a frame (with a fresh id unless it has one) and resolves with its answer: `ack`, `subscribed`, `unsubscribed` or `error`. */
  request(frame: Record<string, unknown>): Promise<Frame>;
  /** The first frame (from `from`, default 0) that matches; waits until one comes. */
  waitFor(what: string, match: (frame: Frame) => boolean, from?: number): Promise<Frame>;
  /** The stored events received for a conversation, in order. */
  events(conversationId: string): { seq: number; type: string; data: Record<string, unknown>; visibility: string }[];
  /** Resolves with the close code and reason once the socket is closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** The ws URL of a gateway (`http://host:port` → `ws://host:port/v1/ws`). */
export const wsUrlOf = (gatewayUrl: string, query?: string) => `${gatewayUrl.replace(/^http/, 'ws')}/v1/ws${query ? `?${query}` : ''}`;

/** Opens a socket (the handshake done; a refusal arrives as a close code on `closed`). */
/** A `message.send` frame of text. */
export const textMessage = (conversationId: string, text: string, id: string = randomUUID()) => ({ type: 'message.send', id, conversationId, contentType: 'text', text });

export async function connectWs(gatewayUrl: string, options: WsConnectOptions = {}): Promise<WsTestClient> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.apiKey) headers['x-api-key'] = options.apiKey;
  const ws = new WebSocket(wsUrlOf(gatewayUrl, options.query), options.protocols ? [...options.protocols] : [], { headers, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
  const frames: Frame[] = [];
  const invalid: WsTestClient['invalid'] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    const problems = protocol.checkServerFrame(frame);
    if (problems.length > 0) invalid.push({ frame, problems });
    frames.push(frame);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)));
  });
  let isClosed = false;
  let closeCode = '';
  void closed.then((c) => { isClosed = true; closeCode = `${c.code} ${c.reason}`; });
  const client: WsTestClient = {
    ws,
    frames,
    invalid,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    request(frame) {
      const id = typeof frame.id === 'string' ? frame.id : randomUUID();
      const from = frames.length;
      client.send({ ...frame, id });
      return client.waitFor(`the answer to ${String(frame.type)} ${id}`, (f) => ['ack', 'error', 'subscribed', 'unsubscribed'].includes(f.type) && f.id === id, from);
    },
    waitFor: (what, match, from = 0) =>
      waitFor(what, () => {
        if (invalid.length > 0) throw new Error(`the gateway sent frames that break the AsyncAPI document: ${JSON.stringify(invalid)}`);
        const found = frames.slice(from).find(match);
        if (!found && isClosed) throw new Error(`socket closed (${closeCode}) while waiting for ${what}; frames: ${JSON.stringify(frames.slice(-5))}`);
        return found;
      }, { detail: () => `frames: ${JSON.stringify(frames.slice(-5))}` }),
    events: (conversationId) =>
      frames.filter((f) => f.type === 'event' && f.conversationId === conversationId).map((f) => f.event as ReturnType<WsTestClient['events']>[number]),
    async close() {
      if (ws.readyState === ws.CLOSED) return;
      ws.close();
      await closed;
    },
  };
  return client;
}

/**
 * A WebSocket done by hand over TCP that reads what the server sends and never writes anything
 * after the handshake: it does not answer pings (a dead or frozen client). Resolves its close code
 * once the server's close frame arrives, or undefined if the connection ends without one.
 */
export async function connectSilentSocket(gatewayUrl: string, headers: Record<string, string>): Promise<{ socket: Socket; closeCode: Promise<number | undefined>; pings: () => number }> {
  const url = new URL(wsUrlOf(gatewayUrl));
  const key = randomBytes(16).toString('base64');
  const socket = connect(Number(url.port), url.hostname);
  const lines = [`GET ${url.pathname} HTTP/1.1`, `Host: ${url.host}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  let pings = 0;
  let onClose: (code: number | undefined) => void = () => {};
  const closeCode = new Promise<number | undefined>((resolve) => (onClose = resolve));
  socket.on('error', () => onClose(undefined));
  socket.on('close', () => onClose(undefined));
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!upgraded) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString();
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      if (!head.startsWith('HTTP/1.1 101') || !head.includes(accept)) return onClose(undefined);
      upgraded = true;
      buffer = buffer.subarray(end + 4);
    }
    // Server frames are unmasked; our payloads are small (no 64-bit lengths needed beyond 126).
    while (buffer.length >= 2) {
      const opcode = buffer[0]! & 0x0f;
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) return;
      const payload = buffer.subarray(offset, offset + length);
      buffer = buffer.subarray(offset + length);
      if (opcode === 0x9) pings += 1;
      if (opcode === 0x8) onClose(payload.length >= 2 ? payload.readUInt16BE(0) : undefined);
    }
  });
  return { socket, closeCode, pings: () => pings };
}
