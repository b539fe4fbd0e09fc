// The generator process of chat-latency and chat-load (forked by startGenerators): holds the
// conversations of its share of agents and exchanges paced messages over them.
import { paced, setupConversations, Tracker, type Conversation, type SetupParams, type TrackerResult } from './chat-conversations.ts';
import { serveGenerator } from './generators.ts';

let conversations: Conversation[] = [];
let tracker = new Tracker();

export interface ExchangeParams {
  readonly total: number;
  /** Messages per second from this generator. */
  readonly rate: number;
  /** Sent first, not timed (JIT, connection pools). */
  readonly warmup: number;
  /** The share of messages agents send (0: all from visitors), spread evenly. */
  readonly agentShare: number;
  /** How long to wait for the last acks and deliveries. */
  readonly drainMs: number;
  readonly prefix: string;
}

async function setup(p: SetupParams): Promise<{ conversations: number; failed: number; firstError?: string }> {
  const result = await setupConversations(p, (role, frame, at) => tracker.received(role, frame, at));
  conversations = result.conversations;
  return { conversations: conversations.length, failed: result.failed, ...(result.firstError ? { firstError: result.firstError } : {}) };
}

/** Round-robin over the conversations, evenly paced; visitors send, or agents for `agentShare` of them. */
async function exchange(p: ExchangeParams): Promise<TrackerResult> {
  const run = async (total: number, label: string) => {
    tracker = new Tracker();
    await paced(total, p.rate, (i, due) => {
      const c = conversations[i % conversations.length]!;
      const fromAgent = Math.floor((i + 1) * p.agentShare) > Math.floor(i * p.agentShare);
      tracker.send(fromAgent ? c.agent : c.visitor, fromAgent ? 'agent' : 'visitor', c.id, `${p.prefix}-${label}-${i}`, due);
    });
    await tracker.drain(p.drainMs);
    return tracker.result();
  };
  if (p.warmup > 0) await run(p.warmup, 'w');
  return run(p.total, 'm');
}

async function teardown(): Promise<number> {
  const sockets = new Set(conversations.flatMap((c) => [c.visitor, c.agent]));
  for (const s of sockets) s.close();
  conversations = [];
  return sockets.size;
}

serveGenerator({ setup: setup as (p: never) => Promise<unknown>, exchange: exchange as (p: never) => Promise<unknown>, teardown });
