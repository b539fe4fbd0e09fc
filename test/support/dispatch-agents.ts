import type { AgentProfile } from '../../src/config/identity-config.ts';
import { agentSocket, agentToken } from './chat-principals.ts';
import { resumingClient, type ResumingClient } from './chat-nodes.ts';
import { waitFor } from './wait.ts';
import type { Frame, WsTestClient } from './ws-client.ts';

/**
 * How a simulated agent answers the offers it gets: `prompt` accepts at once, `slow` after
 * `thinkMs` (its reaction time, part of the simulated work load, not a wait of the test), `never`
 * lets every offer expire.
 */
export type AgentBehaviour = 'prompt' | 'slow' | 'never';

/** An `offer` frame as the agent received it. */
export interface SeenOffer {
  readonly offerId: string;
  readonly conversationId: string;
  /** Epoch ms, from the frame's `expiresAt`. */
  readonly expiresAtMs: number;
  /** Index in the agent's offers, in arrival order. */
  readonly index: number;
}

/** What came of an accept the agent sent. */
export interface AcceptOutcome {
  readonly offer: SeenOffer;
  /** `ack`: assigned (seq of `assigned`, or the duplicate's); else the error code (`OFFER_EXPIRED` …). */
  readonly result: { readonly ok: true; readonly seq: number; readonly duplicate: boolean } | { readonly ok: false; readonly code: string };
}

export interface SimAgent {
  readonly id: string;
  readonly profile: AgentProfile;
  readonly behaviour: AgentBehaviour;
  readonly client: ResumingClient;
  /** Every offer frame, in arrival order. */
  readonly offers: SeenOffer[];
  /** Every accept it sent, with its outcome, in the order the outcomes came. */
  readonly accepts: AcceptOutcome[];
  /** Conversations assigned to it (accept acked), by id. */
  readonly assigned: ReadonlySet<string>;
  /** Conversations it closed (close acked). */
  readonly closed: ReadonlySet<string>;
  /** Accepts a seen offer now (whatever its behaviour): its outcome. */
  accept(offer: SeenOffer): Promise<AcceptOutcome>;
  /** Closes an assigned conversation. */
  close(conversationId: string): Promise<void>;
  /** Sends `presence` (`away` stops new offers). */
  presence(status: 'online' | 'away'): Promise<void>;
  /** Stops reconnecting and closes its socket. */
  stop(): Promise<void>;
}

export interface SimAgentOptions {
  readonly profile: AgentProfile;
  readonly behaviour: AgentBehaviour;
  /** Nodes to connect to, the first one first, the next one after a drop. */
  readonly urls: readonly string[];
  /** The reaction time of a `slow` agent. */
  readonly thinkMs?: number;
  /** Close each assigned conversation after this long (its chat), freeing a place; absent: keep it. */
  readonly holdMs?: number;
  /** How it accepts: over REST (default) or with a `command` frame on its socket. */
  readonly acceptVia?: 'rest' | 'socket';
}

/** The offer in an `offer` frame (flat or under `offer`). */
export function offerOfFrame(frame: Frame, index: number): SeenOffer | undefined {
  if (frame.type !== 'offer') return undefined;
  const body = (typeof frame.offer === 'object' && frame.offer !== null ? frame.offer : frame) as Record<string, unknown>;
  const conversationId = (body.conversationId ?? frame.conversationId) as string | undefined;
  const offerId = body.offerId as string | undefined;
  if (typeof conversationId !== 'string' || typeof offerId !== 'string') return undefined;
  const expiresAt = body.expiresAt;
  return { offerId, conversationId, expiresAtMs: typeof expiresAt === 'string' ? Date.parse(expiresAt) : Number(expiresAt ?? Number.NaN), index };
}

/**
 * An agent console run by the test: a real agent socket (JWT), online on connect, that answers
 * its `offer` frames as its behaviour says (accept with the offer id, over REST or its socket),
 * closes what it was given after `holdMs`, and reconnects to the next node when its node dies.
 */
export async function simAgent(options: SimAgentOptions): Promise<SimAgent> {
  const { profile, behaviour } = options;
  const offers: SeenOffer[] = [];
  const accepts: AcceptOutcome[] = [];
  const assigned = new Set<string>();
  const closed = new Set<string>();
  let stopped = false;
  /** The node its socket is on now (commands go there first), and that socket. */
  let urlIndex = 0;
  let current: WsTestClient | undefined;

  const token = await agentToken(profile.id);
  /**
   * A command over REST as the console sends it (agent JWT, an Idempotency-Key), to the node its
   * socket is on first, then to the others: a node dying in the middle of it leaves the repeat to
   * the next one (the key makes the repeat harmless).
   */
  const command = async (conversationId: string, name: string, body: Record<string, unknown>, key: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    let lastError: unknown;
    for (let attempt = 0; attempt < 2 * options.urls.length && !stopped; attempt += 1) {
      const url = options.urls[(urlIndex + attempt) % options.urls.length]!;
      try {
        const res = await fetch(`${url}/v1/conversations/${conversationId}/${name}`, {
          method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError ?? new Error(`agent ${profile.id} stopped`);
  };

  /** A `command` frame on the socket, again on the next socket if this one drops before the answer (same id: idempotent). */
  const onSocket = async (frame: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> => {
    for (;;) {
      const socket = current!;
      try {
        const answer = await socket.request(frame);
        return { status: answer.type === 'ack' ? 200 : 409, body: answer };
      } catch (err) {
        if (stopped || socket.ws.readyState === socket.ws.OPEN) throw err;
        await waitFor(`agent ${profile.id} connected again`, () => stopped || (current !== socket && current!.ws.readyState === current!.ws.OPEN));
      }
    }
  };

  const accept = async (offer: SeenOffer): Promise<AcceptOutcome> => {
    const answer = options.acceptVia === 'socket'
      ? await onSocket({ type: 'command', id: `accept:${offer.offerId}`, conversationId: offer.conversationId, command: 'accept', offerId: offer.offerId })
      : await command(offer.conversationId, 'accept', { offerId: offer.offerId }, `accept:${offer.offerId}`);
    const outcome: AcceptOutcome = answer.status === 200
      ? { offer, result: { ok: true, seq: Number(answer.body.seq), duplicate: answer.body.duplicate === true } }
      : { offer, result: { ok: false, code: String(answer.body.code) } };
    accepts.push(outcome);
    if (outcome.result.ok) {
      assigned.add(offer.conversationId);
      if (options.holdMs !== undefined) setTimeout(() => void agent.close(offer.conversationId).catch(() => undefined), options.holdMs);
    }
    return outcome;
  };

  const onOffer = (offer: SeenOffer): void => {
    if (behaviour === 'never') return;
    const go = () => void accept(offer).catch(() => undefined);
    if (behaviour === 'slow') setTimeout(go, options.thinkMs ?? 200);
    else go();
  };

  const seenIds = new Set<string>();
  const seen = (frame: Frame): void => {
    const offer = offerOfFrame(frame, offers.length);
    if (offer === undefined || stopped || seenIds.has(offer.offerId)) return;
    seenIds.add(offer.offerId);
    offers.push(offer);
    onOffer(offer);
  };

  const client = await resumingClient({
    urls: options.urls,
    connect: async (node) => {
      const socket = await agentSocket(node, profile.id);
      urlIndex = Math.max(0, options.urls.indexOf(node.url));
      current = socket;
      // Offers that came while the welcome was awaited first, then the live ones: no await in
      // between, so none slips through.
      for (const frame of socket.frames) seen(frame);
      socket.ws.on('message', (data) => seen(JSON.parse(String(data)) as Frame));
      return socket;
    },
  });

  const agent: SimAgent = {
    id: profile.id, profile, behaviour, client, offers, accepts, assigned, closed, accept,
    async close(conversationId) {
      const answer = await command(conversationId, 'close', {}, `close:${conversationId}`);
      if (answer.status !== 200) throw new Error(`agent ${profile.id} could not close ${conversationId}: ${answer.status} ${JSON.stringify(answer.body)}`);
      closed.add(conversationId);
    },
    async presence(status) {
      // No answer frame: the presence broadcast every staff socket gets, this one included, says it is done.
      const from = client.socket.frames.length;
      client.send({ type: 'presence', status });
      await client.socket.waitFor(`agent ${profile.id} ${status}`, (f) => f.type === 'presence' && f.agentId === profile.id && f.status === status, from);
    },
    async stop() {
      stopped = true;
      await client.close();
    },
  };
  return agent;
}

/** A pool of simulated agents, each with its profile and behaviour, spread over the nodes in turn. */
export async function simAgents(specs: readonly Omit<SimAgentOptions, 'urls'>[], urls: readonly string[]): Promise<SimAgent[]> {
  return Promise.all(specs.map((spec, i) => simAgent({ ...spec, urls: [...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)] })));
}
