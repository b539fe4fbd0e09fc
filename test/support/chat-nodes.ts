import { setTimeout as delay } from 'node:timers/promises';
import { CHAT_ENV } from './chat-principals.ts';
import { waitFor } from './wait.ts';
import type { Frame, WsTestClient } from './ws-client.ts';

/**
 * The chat settings of every node of a several-node test: the identity of chat-principals.ts and
 * short timers (heartbeats and presence leases in a few hundred ms, so a killed node's agents go
 * offline within a second), rate limits out of the way of bursts.
 */
export function chatNodeEnv(over: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    ...CHAT_ENV,
    OMNIGATE_WS_HEARTBEAT_MS: '200', OMNIGATE_WS_PRESENCE_TTL_MS: '800', OMNIGATE_WS_CLOSE_GRACE_MS: '200',
    OMNIGATE_WS_RATE_PER_SEC: '10000', OMNIGATE_WS_RATE_BURST: '10000',
    OMNIGATE_CONVERSATION_STARTS_PER_IP: '100000', OMNIGATE_CONVERSATION_STARTS_PER_SITE: '100000',
    OMNIGATE_WIDGET_SESSIONS_PER_IP: '100000', OMNIGATE_WIDGET_SESSIONS_PER_SITE: '100000',
    // A loaded CI host can take longer than the 200 ms default to answer; a start-up command that times out ends the process.
    OMNIGATE_REDIS_COMMAND_TIMEOUT_MS: '2000',
    ...over,
  };
}

/** A node's base URL. */
export interface ChatNode {
  readonly url: string;
}

/** A stored event as a socket receives it. */
export type ReceivedEvent = ReturnType<WsTestClient['events']>[number] & { id: string };

/** Jittered exponential backoff between reconnects ("full jitter": a random wait up to the doubled bound). */
export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * A chat client that does what a widget or an agent console does when its socket drops: waits
 * a jittered backoff, connects to the next node of its list, and follows each conversation again
 * from the last seq it has. Its frames are those of every connection in turn.
 */
export interface ResumingClient {
  /** The connection now (a new one after each reconnect). */
  readonly socket: WsTestClient;
  /** Each connection's close code, in order, and which node it was on. */
  readonly closes: { readonly url: string; readonly code: number }[];
  /** Every frame of every connection, in arrival order. */
  frames(): Frame[];
  /** Every stored event of a conversation received over every connection, in arrival order. */
  events(conversationId: string): ReceivedEvent[];
  /** The ack of a client id (its first, and any repeat after a resend), over every connection. */
  acks(clientId: string): Frame[];
  /** Follows a conversation after `afterSeq` and waits for `subscribed`; followed again after each reconnect from its last seq. */
  follow(conversationId: string, afterSeq?: number): Promise<Frame>;
  /** Sends on the connection now; false when it is not open (the frame is not sent). */
  send(frame: Record<string, unknown>): boolean;
  /** Sends a frame (with a fresh id unless it has one) and waits for the answer to this send: its ack (rejects on an error frame). */
  request(frame: Record<string, unknown>): Promise<Frame>;
  /** Waits for a frame of any connection. */
  waitFor(what: string, match: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** Connections opened so far. */
  readonly connections: number;
  /** Stops reconnecting and closes the socket. */
  close(): Promise<void>;
}

/**
 * Connects with `connect` (e.g. chat-principals.ts's visitorSocket with a token) to the first of
 * `urls`, and on each drop to the next one, after a jittered backoff (20 ms doubling up to 300 ms
 * by default).
 */
export async function resumingClient(options: { urls: readonly string[]; connect: (node: ChatNode) => Promise<WsTestClient>; backoff?: Backoff }): Promise<ResumingClient> {
  const backoff = options.backoff ?? { baseMs: 20, maxMs: 300 };
  const open = options.connect;
  const sockets: WsTestClient[] = [];
  const closes: { url: string; code: number }[] = [];
  const followed = new Map<string, number>();
  let index = 0;
  let stopped = false;

  const lastSeq = (conversationId: string): number => Math.max(followed.get(conversationId) ?? 0, ...client.events(conversationId).map((e) => e.seq));
  /** Sends `frame` on `socket` and resolves with its answer; an error frame rejects. */
  const ask = async (socket: WsTestClient, frame: Record<string, unknown>): Promise<Frame> => {
    const answer = await socket.request(frame);
    if (answer.type === 'error') throw new Error(`${String(frame.type)} refused: ${JSON.stringify(answer)}`);
    return answer;
  };
  const subscribe = (socket: WsTestClient, conversationId: string, afterSeq: number) => ask(socket, { type: 'subscribe', conversationId, afterSeq });
  const connect = async (): Promise<void> => {
    const url = options.urls[index % options.urls.length]!;
    const socket = await open({ url });
    try {
      await socket.waitFor('welcome', (f) => f.type === 'welcome');
    } catch (err) {
      await socket.close();
      throw err;
    }
    sockets.push(socket);
    void socket.closed.then(async ({ code }) => {
      closes.push({ url, code });
      // Reconnect elsewhere: the node that closed (or died) may not come back.
      for (let attempt = 0; !stopped; attempt += 1) {
        index += 1;
        await delay(Math.random() * Math.min(backoff.maxMs, backoff.baseMs * 2 ** attempt));
        if (stopped) return;
        try {
          await connect();
        } catch {
          continue; // that node is down too: the next one, after a longer wait
        }
        // Should the new socket drop during these, its own close handler takes over.
        for (const conversationId of followed.keys()) await subscribe(client.socket, conversationId, lastSeq(conversationId)).catch(() => undefined);
        return;
      }
    });
  };

  const client: ResumingClient = {
    get socket() {
      return sockets.at(-1)!;
    },
    closes,
    get connections() {
      return sockets.length;
    },
    frames: () => sockets.flatMap((s) => s.frames),
    events: (conversationId) => sockets.flatMap((s) => s.events(conversationId) as ReceivedEvent[]),
    acks: (clientId) => client.frames().filter((f) => f.type === 'ack' && f.id === clientId),
    async follow(conversationId, afterSeq = 0) {
      followed.set(conversationId, afterSeq);
      return subscribe(client.socket, conversationId, afterSeq);
    },
    send(frame) {
      if (client.socket.ws.readyState !== client.socket.ws.OPEN) return false;
      client.socket.send(frame);
      return true;
    },
    request: (frame) => ask(client.socket, frame),
    waitFor: (what, match, timeoutMs = 20_000) =>
      waitFor(what, () => client.frames().find(match), { timeoutMs, detail: () => `closes: ${JSON.stringify(closes)}; last frames: ${JSON.stringify(client.frames().slice(-5))}` }),
    async close() {
      stopped = true;
      await Promise.all(sockets.map((socket) => socket.close()));
    },
  };
  await connect();
  return client;
}

/**
 * A conversation read over REST with the service key, page by page: `events` (every stored
 * event) or `messages` (the history of messages), in seq order.
 */
export async function readConversation(node: { api(path: string): Promise<Response> }, conversationId: string, what: 'events' | 'messages' = 'events'): Promise<ReceivedEvent[]> {
  const all: ReceivedEvent[] = [];
  for (let afterSeq = 0; ;) {
    const res = await node.api(`/v1/conversations/${conversationId}/${what}?afterSeq=${afterSeq}`);
    if (res.status !== 200) throw new Error(`GET ${what} of ${conversationId}: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as { events?: ReceivedEvent[]; messages?: ReceivedEvent[]; lastSeq: number; hasMore: boolean };
    all.push(...(page.events ?? page.messages ?? []));
    if (!page.hasMore || page.lastSeq <= afterSeq) return all;
    afterSeq = page.lastSeq;
  }
}
