/** An agent's presence: online if any of its sockets says so, away if all say away, offline with none left. */
export type AgentPresence = 'online' | 'away' | 'offline';

/** One agent's presence, before and after a change to one of its sockets. */
export interface PresenceChange {
  readonly agentId: string;
  readonly before: AgentPresence;
  readonly after: AgentPresence;
}

/**
 * Agent presence across tabs and gateway nodes. Each socket holds a lease that its node renews
 * with every heartbeat; a node that dies stops renewing, and `sweep` (run by every node) turns
 * its agents offline once the leases run out.
 */
export interface PresenceStore {
  /** Sets (or renews) one socket's status and lease. */
  set(agentId: string, socketId: string, status: 'online' | 'away', ttlMs: number): Promise<PresenceChange>;
  /** Drops one socket (it closed). */
  remove(agentId: string, socketId: string): Promise<PresenceChange>;
  /** Drops the sockets whose lease ran out; the agents whose presence changed, each once. */
  sweep(): Promise<PresenceChange[]>;
  /** One agent's presence: one read, whatever the number of agents (dispatch asks it on every presence change). */
  get(agentId: string): Promise<AgentPresence>;
  /** Every agent with at least one live socket. */
  list(): Promise<{ readonly agentId: string; readonly status: AgentPresence }[]>;
}
