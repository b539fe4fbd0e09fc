import type { Logger } from '../../../kernel/logger.ts';
import type { AgentPresence } from './agent-presence.ts';
import { frame } from './frames.ts';
import type { Session } from './ws.types.ts';

/** Fan-out topic: `{ agentId, frame: { type, …payload } }` written to every socket of that agent, on any node (offers). */
export const AGENT_FRAME_TOPIC = 'agent.frame';
/** Fan-out topic: `{ agentId, reason }`: every socket of that agent, on any node, is set away as if it had sent `presence` away. */
export const AGENT_AWAY_TOPIC = 'agent.away';
/** The server frames dispatch sends through the sockets (openapi/asyncapi.yaml); any other type is not written. */
export const DISPATCH_FRAME_TYPES = ['offer', 'queue'] as const;
export type DispatchFrameType = (typeof DISPATCH_FRAME_TYPES)[number];

const isDispatchFrame = (type: unknown): type is DispatchFrameType => DISPATCH_FRAME_TYPES.includes(type as DispatchFrameType);

/** The agent sockets of this node by agent, and what dispatch's fan-out topics do to them. */
export interface AgentSockets {
  add(session: Session): void;
  remove(session: Session): void;
  /** An `agent.frame` signal: the frame, serialised once, to each socket of the agent here. */
  onFrame(payload: unknown): void;
  /** An `agent.away` signal: each socket of the agent here is set away (the presence store, presence frames and dispatch agree). */
  onAway(payload: unknown): Promise<void>;
  /** A dispatch frame to the visitors among `sessions`; how many got it. */
  toVisitors(sessions: Iterable<Session>, type: DispatchFrameType, payload: Record<string, unknown>): number;
}

export function createAgentSockets(deps: { readonly presence: AgentPresence; readonly log: Logger }): AgentSockets {
  const byAgent = new Map<string, Set<Session>>();
  const agentIdOf = (session: Session) => (session.principal.kind === 'agent' ? session.principal.agentId : undefined);

  return {
    add(session) {
      const agentId = agentIdOf(session);
      if (agentId === undefined) return;
      const sessions = byAgent.get(agentId);
      if (sessions) sessions.add(session);
      else byAgent.set(agentId, new Set([session]));
    },
    remove(session) {
      const agentId = agentIdOf(session);
      const sessions = agentId === undefined ? undefined : byAgent.get(agentId);
      if (!sessions?.delete(session) || sessions.size > 0) return;
      byAgent.delete(agentId!);
    },
    onFrame(payload) {
      const { agentId, frame: sent } = (payload ?? {}) as { agentId?: unknown; frame?: { type?: unknown } & Record<string, unknown> };
      if (typeof agentId !== 'string' || !isDispatchFrame(sent?.type)) return void deps.log.warn({ agentId, type: sent?.type }, 'an agent frame of no known type: not written');
      const sessions = byAgent.get(agentId);
      if (!sessions) return;
      const { type, ...rest } = sent;
      const data = Buffer.from(frame(type, rest));
      for (const session of sessions) session.send(data);
    },
    async onAway(payload) {
      const { agentId, reason } = (payload ?? {}) as { agentId?: unknown; reason?: unknown };
      const sessions = typeof agentId === 'string' ? byAgent.get(agentId) : undefined;
      if (!sessions) return;
      deps.log.info({ agentId, reason }, 'agent set away by dispatch');
      await Promise.all([...sessions].map((session) => deps.presence.set(session, 'away')));
    },
    toVisitors(sessions, type, payload) {
      if (!isDispatchFrame(type)) return 0;
      let data: Buffer | undefined;
      let sent = 0;
      for (const session of sessions) {
        if (session.principal.kind !== 'visitor') continue;
        session.send((data ??= Buffer.from(frame(type, payload))));
        sent += 1;
      }
      return sent;
    },
  };
}
