import { isStaff } from '../../../kernel/principal.ts';
import type { Logger } from '../../../kernel/logger.ts';
import type { ChatFanout } from '../../../ports/chat-fanout.ts';
import type { PresenceChange, PresenceStore } from '../../../ports/presence-store.ts';
import { frame } from './frames.ts';
import type { Session } from './ws.types.ts';

/** The fan-out topic of presence changes. */
export const PRESENCE_TOPIC = 'presence';

/** Agent presence for the sockets of this node, shared with every node through the store and the fan-out. */
export interface AgentPresence {
  /** An agent socket opened (online) or said online/away. */
  set(session: Session, status: 'online' | 'away'): Promise<void>;
  /** An agent socket closed. */
  leave(session: Session): Promise<void>;
  /** Renews the leases of this node's agent sockets (each heartbeat) and expires other nodes' dead ones. */
  renew(): Promise<void>;
  /** A presence signal from any node: written to this node's staff sockets, framed once. */
  onSignal(payload: unknown): void;
  /** Sends a staff socket the presence of every agent now connected. */
  sendCurrent(session: Session): Promise<void>;
}

export interface AgentPresenceDeps {
  readonly store: PresenceStore;
  readonly fanout: Pick<ChatFanout, 'signal'>;
  /** Every open socket of this node. */
  readonly sessions: () => Iterable<Session>;
  readonly ttlMs: number;
  readonly log: Logger;
  /** Told of each change of an agent's presence made on this node (a socket's status, a close, a lease swept), once. */
  readonly onChange?: (change: PresenceChange) => void;
}

export function createAgentPresence(deps: AgentPresenceDeps): AgentPresence {
  const statusOf = new Map<Session, 'online' | 'away'>();
  const announce = async (change: PresenceChange) => {
    if (change.before === change.after) return;
    try {
      deps.onChange?.(change);
    } catch (err) {
      deps.log.warn({ err, agentId: change.agentId }, 'a presence change listener failed');
    }
    await deps.fanout.signal(PRESENCE_TOPIC, { agentId: change.agentId, status: change.after });
  };
  const agentIdOf = (session: Session) => (session.principal.kind === 'agent' ? session.principal.agentId : undefined);

  return {
    async set(session, status) {
      const agentId = agentIdOf(session);
      if (agentId === undefined) return;
      statusOf.set(session, status);
      await announce(await deps.store.set(agentId, session.id, status, deps.ttlMs));
    },
    async leave(session) {
      const agentId = agentIdOf(session);
      if (agentId === undefined || !statusOf.delete(session)) return;
      await announce(await deps.store.remove(agentId, session.id));
    },
    async renew() {
      const renewals = [...statusOf].map(async ([session, status]) => {
        const agentId = agentIdOf(session);
        if (agentId !== undefined && session.isOpen) await announce(await deps.store.set(agentId, session.id, status, deps.ttlMs));
      });
      await Promise.all(renewals);
      // Every node sweeps; the store hands each expired lease to one of them, so a change is announced once.
      await Promise.all((await deps.store.sweep()).map(announce));
    },
    onSignal(payload) {
      const { agentId, status } = payload as { agentId: string; status: string };
      let data: Buffer | undefined;
      for (const session of deps.sessions()) {
        if (isStaff(session.principal)) session.send((data ??= Buffer.from(frame('presence', { agentId, status }))));
      }
    },
    async sendCurrent(session) {
      for (const { agentId, status } of await deps.store.list()) session.send(frame('presence', { agentId, status }));
    },
  };
}
