// Generator side of the latency and load benches: conversations between a visitor socket and an
// agent socket (an agent holds several), messages sent on an even schedule, and a tracker that
// times each one from send to ack (sender) and to delivery (the other side), and counts what was
// acknowledged but never delivered.
import { socketAuth, type Credentials } from './chat-auth.ts';
import { expectReply, inBatches, openChatSocket, requestRetrying, type ChatSocket, type Frame } from './chat-client.ts';
import { percentiles, type Percentiles } from './load.ts';

export interface Conversation {
  readonly id: string;
  readonly visitor: ChatSocket;
  readonly agent: ChatSocket;
}

export type Role = 'visitor' | 'agent';

export interface SetupParams {
  readonly visitorUrl: string;
  readonly agentUrl: string;
  readonly visitor: Credentials;
  readonly agent: Credentials;
  readonly agents: number;
  /** Conversations each agent holds. */
  readonly perAgent: number;
  readonly localAddress: string;
  readonly concurrency: number;
  /** The agent claims each conversation (the gateway's manual dispatch); the raw relay has no such thing. */
  readonly accept: boolean;
  /** Unique per generator and phase: names the visitors and the client ids. */
  readonly prefix: string;
}

/** Opens the agents, then their visitors; each visitor starts a conversation its agent subscribes to (and accepts). */
/** The conversations set up, and how many could not be. */
export interface SetupResult {
  readonly conversations: Conversation[];
  readonly failed: number;
  readonly firstError?: string;
}

export async function setupConversations(p: SetupParams, onReceived: (role: Role, frame: Frame, at: number) => void): Promise<SetupResult> {
  const agents: ChatSocket[] = [];
  await inBatches(Array.from({ length: p.agents }, (_, i) => i), p.concurrency, async (i) => {
    const agent = await openChatSocket(p.agentUrl, await socketAuth(p.agent, `${p.prefix}-agent-${i}`), { localAddress: p.localAddress });
    agent.onFrame = (frame, at) => onReceived('agent', frame, at);
    agents[i] = agent;
  });
  const conversations: Conversation[] = [];
  const total = p.agents * p.perAgent;
  let failed = 0;
  let firstError: string | undefined;
  await inBatches(Array.from({ length: total }, (_, i) => i), p.concurrency, async (i) => {
    const name = `${p.prefix}-v${i}`;
    try {
      const visitor = await openChatSocket(p.visitorUrl, await socketAuth(p.visitor, name), { localAddress: p.localAddress });
      visitor.onFrame = (frame, at) => onReceived('visitor', frame, at);
      const started = expectReply(await requestRetrying(visitor, { type: 'conversation.start', id: `${name}-start` }), 'ack');
      const conversationId = String(started.conversationId);
      // The visitor follows its conversation too: agents' replies reach it only then.
      expectReply(await requestRetrying(visitor, { type: 'subscribe', id: `${name}-vsub`, conversationId, afterSeq: Number(started.seq) }), 'subscribed');
      const agent = agents[i % p.agents]!;
      expectReply(await requestRetrying(agent, { type: 'subscribe', id: `${name}-sub`, conversationId, afterSeq: Number(started.seq) }), 'subscribed');
      if (p.accept) expectReply(await requestRetrying(agent, { type: 'command', id: `${name}-accept`, conversationId, command: 'accept' }), 'ack');
      conversations.push({ id: conversationId, visitor, agent });
    } catch (err) {
      // A socket the server closed (a store time-out on a busy node closes it with 4503: the client
      // would reconnect and resume) leaves its conversation out of the exchange; counted, not fatal.
      failed++;
      firstError ??= err instanceof Error ? err.message : String(err);
    }
  });
  return { conversations, failed, ...(firstError ? { firstError } : {}) };
}

interface InFlight {
  readonly sentAt: number;
  readonly to: Role;
  ackedAt?: number;
  deliveredAt?: number;
}

/** What one generator counted and measured; samples in ms, so several generators' can be merged. */
export interface TrackerResult {
  readonly sent: number;
  readonly acked: number;
  readonly delivered: number;
  /** Acknowledged, never delivered to the other side. */
  readonly lost: number;
  /** Delivered more than once. */
  readonly duplicates: number;
  /** Errors left after retries. */
  readonly errors: number;
  /** Sends repeated (same id) after a retryable error. */
  readonly retries: number;
  readonly firstError?: string;
  readonly ackMs: number[];
  readonly deliveryMs: number[];
  /** How late messages left against their schedule: the generator keeping up. */
  readonly scheduleLagMs: number[];
}

/** Times every message a phase sends; ids not sent by it (history replays) are ignored. */
export class Tracker {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly acks: number[] = [];
  private readonly deliveries: number[] = [];
  private readonly lags: number[] = [];
  private duplicates = 0;
  private errors = 0;
  private retries = 0;
  private firstError: string | undefined;

  /** Sends one text message and times it. */
  send(from: ChatSocket, fromRole: Role, conversationId: string, clientId: string, due: number): void {
    const sentAt = performance.now();
    this.lags.push(sentAt - due);
    const entry: InFlight = { sentAt, to: fromRole === 'visitor' ? 'agent' : 'visitor' };
    this.inFlight.set(clientId, entry);
    // A retryable refusal (a store time-out) is sent again with the same id, as a client does; timed from the first send.
    void requestRetrying(from, { type: 'message.send', id: clientId, conversationId, contentType: 'text', text: `bench ${clientId}` }, () => this.retries++).then(
      (reply) => {
        if (reply.type === 'ack') {
          entry.ackedAt = performance.now();
          return;
        }
        this.errors++;
        this.firstError ??= JSON.stringify(reply).slice(0, 300);
      },
      (err: unknown) => {
        this.errors++;
        this.firstError ??= String(err);
      },
    );
  }

  received(role: Role, frame: Frame, at: number): void {
    if (frame.type !== 'event') return;
    const event = frame.event as { type?: string; data?: { clientId?: string; text?: string } } | undefined;
    if (event?.type !== 'conversation.message_sent') return;
    const clientId = event.data?.clientId ?? event.data?.text?.slice('bench '.length);
    const entry = clientId === undefined ? undefined : this.inFlight.get(clientId);
    if (!entry || entry.to !== role) return;
    if (entry.deliveredAt !== undefined) return void this.duplicates++;
    entry.deliveredAt = at;
  }

  /** Waits until every message is acked and delivered, or `graceMs` passed since the last send. */
  async drain(graceMs: number): Promise<void> {
    const deadline = performance.now() + graceMs;
    const done = () => [...this.inFlight.values()].every((e) => e.ackedAt !== undefined && e.deliveredAt !== undefined);
    while (!done() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  result(): TrackerResult {
    let acked = 0;
    let delivered = 0;
    let lost = 0;
    for (const e of this.inFlight.values()) {
      if (e.ackedAt !== undefined) {
        acked++;
        this.acks.push(e.ackedAt - e.sentAt);
        if (e.deliveredAt === undefined) lost++;
      }
      if (e.deliveredAt !== undefined) {
        delivered++;
        this.deliveries.push(e.deliveredAt - e.sentAt);
      }
    }
    return {
      sent: this.inFlight.size, acked, delivered, lost, duplicates: this.duplicates, errors: this.errors, retries: this.retries,
      ...(this.firstError ? { firstError: this.firstError } : {}),
      ackMs: this.acks.map(round), deliveryMs: this.deliveries.map(round), scheduleLagMs: this.lags.map(round),
    };
  }
}

/**
 * Open loop: message i leaves at start + i/rate whatever happened to earlier ones (no coordinated
 * omission); a message due while the process was descheduled leaves at once, and its lateness is
 * recorded. Resolves once the last one left.
 */
export function paced(total: number, rate: number, fire: (i: number, due: number) => void): Promise<void> {
  const intervalMs = 1000 / rate;
  const start = performance.now() + 5;
  let sent = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * intervalMs <= now) {
        fire(sent, start + sent * intervalMs);
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, Math.min(intervalMs, start + sent * intervalMs - performance.now())));
      else resolve();
    };
    setTimeout(tick, 5);
  });
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** Several generators' results as one: counts summed, percentiles over all their samples. */
export type Summary = Omit<TrackerResult, 'ackMs' | 'deliveryMs' | 'scheduleLagMs'> & {
  readonly ackMs: Percentiles;
  readonly deliveryMs: Percentiles;
  readonly scheduleLagMs: Percentiles;
};

export function summarize(results: readonly TrackerResult[]): Summary {
  const sum = (k: 'sent' | 'acked' | 'delivered' | 'lost' | 'duplicates' | 'errors' | 'retries') => results.reduce((n, r) => n + r[k], 0);
  const firstError = results.find((r) => r.firstError)?.firstError;
  return {
    sent: sum('sent'), acked: sum('acked'), delivered: sum('delivered'), lost: sum('lost'), duplicates: sum('duplicates'), errors: sum('errors'), retries: sum('retries'),
    ...(firstError ? { firstError } : {}),
    ackMs: percentiles(results.flatMap((r) => r.ackMs)),
    deliveryMs: percentiles(results.flatMap((r) => r.deliveryMs)),
    scheduleLagMs: percentiles(results.flatMap((r) => r.scheduleLagMs)),
  };
}
