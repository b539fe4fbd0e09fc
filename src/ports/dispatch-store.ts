/**
 * Dispatch state shared by every gateway node: one priority queue per group, the agents as
 * dispatch sees them (status, profile, load), open offers and their expiry, and per-group
 * counters. Every method is one atomic step (a Lua script on Redis); all dispatch keys share one
 * hash tag, because an agent's load spans all its groups and a claim must check it in the same
 * script that takes the conversation from its group's queue. The conversation's own stream
 * (another slot on Redis Cluster) is written afterwards, made idempotent by the offer id.
 *
 * An agent's load is the set of conversations it holds: open offers, accepted offers and
 * assignments. Adding a conversation twice counts once; releasing one it does not hold is a no-op.
 */
export interface DispatchStore {
  /** Puts a conversation in its group's queue at `rank` (lower first). False when it is queued already (nothing changes). */
  enqueue(entry: RankedEntry): Promise<boolean>;
  /** Takes a conversation out of the dispatch (abandoned, closed, accepted outside dispatch): its entry, and any open offer of it (the offered agent's load goes down). Its entry, if it had one. */
  dequeue(conversationId: string): Promise<RankedEntry | undefined>;
  /** The queued (or offered) entry of a conversation. */
  entry(conversationId: string): Promise<RankedEntry | undefined>;

  /** Upserts an agent (profile from the directory, status from presence); keeps its load and idle time. An agent goes out of its groups' availability when away, offline, or full. */
  setAgent(agent: DispatchAgent, nowMs: number): Promise<void>;
  /** Forgets an agent (removed from the directory). Conversations it holds stay its own until released. */
  removeAgent(agentId: string): Promise<void>;
  /** Agents with their load, in one group or all. */
  agents(group?: string): Promise<AgentLoad[]>;

  /**
   * The claim: in one step, the first entry of the group's queue (rank order, looking at most
   * `scanDepth` entries deep) for which an eligible agent is free — online, in the group, every
   * required skill, the language if one is required, load below its maximum, not excluded for
   * this conversation — gets an offer to that agent: the sticky agent when eligible, else the
   * least busy, ties to the longest idle. The entry leaves the queue, the agent's load grows by
   * one. `autoAssign`: the offer is made already accepted. Undefined when nothing can be matched.
   */
  claim(group: string, options: { readonly nowMs: number; readonly offerTtlMs: number; readonly autoAssign: boolean; readonly scanDepth: number }): Promise<ClaimOutcome | undefined>;
  /** The agent takes its open offer: it becomes accepted. OFFER_EXPIRED when it is not open (expired, declined, taken by another claim) or not this agent's. */
  accept(offerId: string, agentId: string, nowMs: number): Promise<Offer>;
  /**
   * An agent takes a conversation without an offer of its own (a manual accept from the queue, a
   * transfer to it): the conversation leaves the queue, another agent's open offer of it is
   * cancelled, the agent's load grows, and an accepted offer is made. AGENT_AT_CAPACITY when the
   * agent is full (unless `force`: a supervisor's transfer); CONVERSATION_ALREADY_ASSIGNED when
   * another agent's accepted offer of it is waiting for its confirmation.
   */
  take(conversationId: string, agentId: string, options: { readonly nowMs: number; readonly force: boolean; readonly group?: string }): Promise<Offer>;
  /** The agent declines its open offer: the entry goes back at its rank, the agent is excluded for it, its load goes down. OFFER_EXPIRED as for accept. */
  decline(offerId: string, agentId: string, nowMs: number): Promise<Offer>;
  /** The `assigned` event of an accepted offer is appended: the offer record goes (the conversation stays in the agent's load). */
  confirm(offerId: string): Promise<void>;
  /** Accepted offers still unconfirmed `olderThanMs` after they were accepted (the node that accepted died before appending): append, then confirm. */
  unconfirmed(nowMs: number, olderThanMs: number, limit: number): Promise<Offer[]>;
  /** Open offers past their expiry, at most `limit`: each entry goes back at its rank with the agent excluded, the agent's load goes down and its consecutive misses grow. */
  expire(nowMs: number, limit: number): Promise<ExpiredOffer[]>;
  /** The agent answered (accepted or declined) or came back online: its consecutive misses start again from 0. */
  resetMisses(agentId: string): Promise<void>;
  /** The conversation left the agent (closed, transferred, requeued): its load goes down. False when the agent did not hold it. */
  release(conversationId: string, agentId: string): Promise<boolean>;

  /** 1-based positions in their groups' queues (rank order); conversations not queued are absent. */
  positions(conversationIds: readonly string[]): Promise<Map<string, { readonly group: string; readonly position: number }>>;
  /** The first `limit` entries of a group's queue, in rank order. */
  queue(group: string, limit: number): Promise<RankedEntry[]>;
  /** The groups that have a queue or agents, with their numbers. */
  stats(nowMs: number): Promise<GroupStats[]>;
  /** Adds to a per-group counter the store does not count itself (`overflowed`). */
  count(group: string, counter: 'overflowed', by?: number): Promise<void>;

  /** Remembers the last agent who served a customer (or visitor) key, for sticky routing. */
  rememberAgent(customerKey: string, agentId: string): Promise<void>;
  lastAgent(customerKey: string): Promise<string | undefined>;
}

/** One conversation waiting for an agent, and what the agent must have. */
export interface QueueEntry {
  readonly conversationId: string;
  readonly group: string;
  /** From the routing rules (already in the rank); kept for display. */
  readonly priority: number;
  /** When it first entered a queue: an expired offer, a decline or a group overflow keep it. */
  readonly enqueuedAtMs: number;
  /** Every one of these the agent must have. */
  readonly skills: readonly string[];
  /** A language the agent must speak; absent: any. */
  readonly language?: string;
  /** The agent to try first: the last one who served this customer. */
  readonly stickyAgentId?: string;
  /** Agents not to offer it to again (they let an offer of it expire, or declined it). */
  readonly excluded?: readonly string[];
}

/** An entry with its place: lower ranks are served first. The dispatcher computes it (priority and ageing); the store only orders by it. */
export interface RankedEntry extends QueueEntry {
  readonly rank: number;
}

/** An agent as dispatch sees it. */
export interface DispatchAgent {
  readonly agentId: string;
  readonly groups: readonly string[];
  readonly skills: readonly string[];
  readonly languages: readonly string[];
  readonly maxConcurrent: number;
  /** Only `online` agents get offers. */
  readonly status: 'online' | 'away' | 'offline';
}

export interface AgentLoad extends DispatchAgent {
  /** Conversations it holds, offers included. */
  readonly load: number;
  /** Since when it has had no new conversation (its last offer or assignment, or when it came online). */
  readonly idleSinceMs: number;
  /** Offers it let expire in a row. */
  readonly misses: number;
}

export interface Offer {
  readonly offerId: string;
  readonly conversationId: string;
  readonly agentId: string;
  readonly group: string;
  readonly madeAtMs: number;
  readonly expiresAtMs: number;
  /** `accepted`: taken (or auto-assigned), waiting for the `assigned` event to be appended. */
  readonly state: 'open' | 'accepted';
  readonly acceptedAtMs?: number;
}

/** What a claim did, and why: the routing explanation is made from it. */
export interface ClaimOutcome {
  readonly offer: Offer;
  readonly entry: RankedEntry;
  /** `sticky`: the customer's last agent; `least_busy`: the lowest load among the eligible, ties to the longest idle. */
  readonly reason: 'sticky' | 'least_busy';
  /** The eligible agents looked at, best first (at most 10). */
  readonly candidates: readonly { readonly agentId: string; readonly load: number; readonly maxConcurrent: number; readonly idleSinceMs: number }[];
  /** Entries ahead of the chosen one that no free agent could take (skills, language). */
  readonly passedOver: number;
}

export interface ExpiredOffer {
  readonly offer: Offer;
  /** The agent's consecutive misses, this one included. */
  readonly misses: number;
}

/** One group's numbers: the queue, the agents, and counters since the store began (cluster-wide). */
export interface GroupStats {
  readonly group: string;
  readonly queued: number;
  /** When the longest-waiting queued conversation entered the queue; absent when none. */
  readonly oldestEnqueuedAtMs?: number;
  readonly openOffers: number;
  readonly agents: { readonly online: number; readonly away: number; readonly offline: number; readonly load: number; readonly capacity: number };
  readonly counters: { readonly offered: number; readonly accepted: number; readonly declined: number; readonly expired: number; readonly assigned: number; readonly overflowed: number };
  /** Assignments (confirmed) in the last 60 s. */
  readonly assignedLastMinute: number;
}
