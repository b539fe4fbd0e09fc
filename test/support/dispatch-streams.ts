import { API_KEY } from './gateway.ts';
import { readConversation, resumingClient, type ReceivedEvent, type ResumingClient } from './chat-nodes.ts';
import { welcomed } from './chat-principals.ts';
import { connectWs } from './ws-client.ts';

/** A stored event of a conversation, as a service reads it (internal ones included). */
export type StreamEvent = Pick<ReceivedEvent, 'seq' | 'type' | 'data'> & { readonly at?: string };

/** Conversations' streams by id. */
export type Streams = ReadonlyMap<string, readonly StreamEvent[]>;

/**
 * A service socket (API key) that follows conversations and keeps every event they get, live,
 * from seq 1; it moves to the next node when its node dies and resumes from the last seq.
 */
export interface StreamObserver {
  readonly client: ResumingClient;
  /** Follows each (from the start), waiting for every `subscribed`. */
  follow(conversationIds: readonly string[]): Promise<void>;
  /** The events of a conversation received so far, each once, in seq order. */
  events(conversationId: string): StreamEvent[];
  close(): Promise<void>;
}

export async function streamObserver(urls: readonly string[]): Promise<StreamObserver> {
  const client = await resumingClient({ urls, connect: async (node) => welcomed(await connectWs(node.url, { apiKey: API_KEY })) });
  return {
    client,
    async follow(conversationIds) {
      // In slices: hundreds of subscribes at once would only queue behind each other. A socket that
      // drops meanwhile is replaced, and the new one follows every conversation again from its last seq.
      for (let i = 0; i < conversationIds.length; i += 50) {
        await Promise.all(conversationIds.slice(i, i + 50).map((id) => client.follow(id).catch((err: unknown) => {
          if (client.socket.ws.readyState === client.socket.ws.OPEN && client.closes.length === 0) throw err;
        })));
      }
    },
    events(conversationId) {
      const bySeq = new Map<number, StreamEvent>();
      for (const e of client.events(conversationId)) bySeq.set(e.seq, e);
      return [...bySeq.values()].sort((x, y) => x.seq - y.seq);
    },
    close: () => client.close(),
  };
}

/** Every conversation's whole stream, read over REST with the service key (the truth, after the fact). */
export async function readStreams(node: { api(path: string): Promise<Response> }, conversationIds: readonly string[]): Promise<Map<string, StreamEvent[]>> {
  const streams = new Map<string, StreamEvent[]>();
  for (let i = 0; i < conversationIds.length; i += 25) {
    const slice = conversationIds.slice(i, i + 25);
    const read = await Promise.all(slice.map((id) => readConversation(node, id)));
    slice.forEach((id, n) => streams.set(id, read[n]!));
  }
  return streams;
}

/** Where a conversation's dispatch ended: given to an agent, sent elsewhere explicitly, or neither yet. */
export function dispatchOutcome(events: readonly StreamEvent[]): 'assigned' | 'overflowed' | 'waiting' {
  if (events.some((e) => e.type === 'conversation.assigned')) return 'assigned';
  if (events.some((e) => e.type === 'conversation.overflowed' || e.type === 'conversation.message_requested')) return 'overflowed';
  return 'waiting';
}

/** The agents a conversation was assigned to, in order (one entry per `assigned`). */
export const assignedAgents = (events: readonly StreamEvent[]): string[] =>
  events.filter((e) => e.type === 'conversation.assigned').map((e) => String(e.data.agentId));

/** The `offered` events of a conversation. */
export const offersOf = (events: readonly StreamEvent[]): { offerId: string; agentId: string; expiresAt: string; seq: number; at?: string }[] =>
  events.filter((e) => e.type === 'conversation.offered').map((e) => ({ offerId: String(e.data.offerId), agentId: String(e.data.agentId), expiresAt: String(e.data.expiresAt), seq: e.seq, ...(e.at === undefined ? {} : { at: e.at }) }));

/**
 * What went wrong with dispatch in these streams, in words (empty: nothing). Per conversation,
 * walking its events: never two open offers at once; an offer ends (or is accepted) only while
 * open; `assigned` completes the open offer made to that same agent, by its id, and never while
 * another agent holds the conversation; an offer id is assigned at most once.
 */
export function streamViolations(streams: Streams): string[] {
  const problems: string[] = [];
  for (const [id, events] of streams) {
    let open: { offerId: string; agentId: string } | undefined;
    let holder: string | undefined;
    const assignedOffers = new Set<string>();
    for (const e of events) {
      const d = e.data;
      switch (e.type) {
        case 'conversation.offered':
          if (open) problems.push(`${id} seq ${e.seq}: offered to ${String(d.agentId)} while offer ${open.offerId} to ${open.agentId} is open`);
          if (holder) problems.push(`${id} seq ${e.seq}: offered to ${String(d.agentId)} while assigned to ${holder}`);
          open = { offerId: String(d.offerId), agentId: String(d.agentId) };
          break;
        case 'conversation.offer_ended':
          if (open?.offerId !== d.offerId) problems.push(`${id} seq ${e.seq}: offer ${String(d.offerId)} ended (${String(d.outcome)}) but it was not the open one (${open?.offerId ?? 'none'})`);
          else open = undefined;
          break;
        case 'conversation.assigned': {
          const offerId = d.offerId === undefined ? undefined : String(d.offerId);
          if (holder) problems.push(`${id} seq ${e.seq}: assigned to ${String(d.agentId)} while ${holder} holds it (assigned twice)`);
          if (offerId !== undefined && assignedOffers.has(offerId)) problems.push(`${id} seq ${e.seq}: offer ${offerId} assigned twice`);
          if (offerId !== undefined && (open?.offerId !== offerId || open.agentId !== d.agentId)) problems.push(`${id} seq ${e.seq}: assigned to ${String(d.agentId)} by offer ${offerId}, but the open offer is ${JSON.stringify(open ?? null)}`);
          if (offerId !== undefined) assignedOffers.add(offerId);
          holder = String(d.agentId);
          open = undefined;
          break;
        }
        case 'conversation.closed':
        case 'conversation.transferred':
        case 'conversation.queued':
          holder = undefined;
          break;
        default:
      }
    }
  }
  return problems;
}

const MOVED_ON: ReadonlySet<string> = new Set(['conversation.closed', 'conversation.assigned', 'conversation.transferred', 'conversation.overflowed']);

/** One span of time an agent held a conversation (an open offer, or an assignment until its close). */
interface Hold {
  readonly agentId: string;
  readonly conversationId: string;
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * The spans each agent held each conversation, as the streams date them: from the `offered`
 * event to the end of the offer (its expiry, its `offer_ended`, the conversation moving on, whichever first) or, when it was
 * accepted, to the `closed` event. Each is within the span the dispatch store counted it in the
 * agent's load (the claim comes before `offered`, the release after `closed`, an expiry at or
 * after `expiresAt`), so more of them at once than the agent's maximum is a real overload.
 */
function holds(streams: Streams): Hold[] {
  const spans: Hold[] = [];
  for (const [conversationId, events] of streams) {
    const ms = (e: StreamEvent) => Date.parse(String(e.at));
    for (const offer of events.filter((e) => e.type === 'conversation.offered')) {
      const offerId = offer.data.offerId;
      const agentId = String(offer.data.agentId);
      const assigned = events.find((e) => e.type === 'conversation.assigned' && e.data.offerId === offerId);
      let toMs: number;
      if (assigned) {
        const closed = events.find((e) => e.seq > assigned.seq && (e.type === 'conversation.closed' || e.type === 'conversation.transferred' || e.type === 'conversation.queued'));
        toMs = closed ? ms(closed) : Number.POSITIVE_INFINITY;
      } else {
        const ended = events.find((e) => e.type === 'conversation.offer_ended' && e.data.offerId === offerId);
        // The store lets the offer go as the conversation moves on (closed, assigned to another,
        // transferred, overflowed), before dispatch appends its `offer_ended`.
        const movedOn = events.find((e) => e.seq > offer.seq && MOVED_ON.has(e.type));
        toMs = Math.min(Date.parse(String(offer.data.expiresAt)), ended ? ms(ended) : Number.POSITIVE_INFINITY, movedOn ? ms(movedOn) : Number.POSITIVE_INFINITY);
      }
      spans.push({ agentId, conversationId, fromMs: ms(offer), toMs });
    }
  }
  return spans;
}

/** What one agent held, by the streams, oldest first: for the post-mortem of a capacity violation. */
export function agentHolds(streams: Streams, agentId: string): { conversationId: string; from: string; to: string }[] {
  const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : 'open');
  return holds(streams).filter((h) => h.agentId === agentId).sort((x, y) => x.fromMs - y.fromMs).map((h) => ({ conversationId: h.conversationId, from: iso(h.fromMs), to: iso(h.toMs) }));
}

/** The most conversations each agent held at once, by the streams (see {@link holds}). */
export function peakLoads(streams: Streams): Map<string, number> {
  const byAgent = new Map<string, Hold[]>();
  for (const h of holds(streams)) byAgent.set(h.agentId, [...(byAgent.get(h.agentId) ?? []), h]);
  const peaks = new Map<string, number>();
  for (const [agentId, spans] of byAgent) {
    // Ends before starts at the same ms: spans are half-open.
    const points = spans.flatMap((s) => [{ at: s.fromMs, d: 1 }, { at: s.toMs, d: -1 }]).sort((x, y) => x.at - y.at || x.d - y.d);
    let now = 0;
    let peak = 0;
    for (const p of points) peak = Math.max(peak, (now += p.d));
    peaks.set(agentId, peak);
  }
  return peaks;
}

/** Agents whose peak load (by the streams) went over their maximum, in words. */
export function capacityViolations(streams: Streams, maxConcurrent: ReadonlyMap<string, number>): string[] {
  const problems: string[] = [];
  for (const [agentId, peak] of peakLoads(streams)) {
    const max = maxConcurrent.get(agentId);
    if (max === undefined) problems.push(`${agentId} got offers but is not a known agent`);
    else if (peak > max) problems.push(`${agentId} held ${peak} conversations at once, its maximum is ${max}`);
  }
  return problems;
}

/** One group's numbers from `GET /v1/queues` (service key); zeros when the group has none yet. */
export async function queueOf(node: { api(path: string): Promise<Response> }, group: string): Promise<{ queued: number; openOffers: number; agents: { online: number; away: number; load: number; capacity: number } }> {
  const res = await node.api('/v1/queues');
  if (res.status !== 200) throw new Error(`GET /v1/queues: ${res.status} ${await res.text()}`);
  const view = (await res.json()) as { queues: { group: string; queued: number; openOffers: number; agents: { online: number; away: number; load: number; capacity: number } }[] };
  return view.queues.find((q) => q.group === group) ?? { queued: 0, openOffers: 0, agents: { online: 0, away: 0, load: 0, capacity: 0 } };
}
