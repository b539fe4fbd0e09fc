/**
 * The cluster's side of a circuit breaker (docs/scaling.md, "Breakers across nodes"): each node
 * adds its outcomes to a rolling window shared by every node, reads the cluster's state back, and
 * opens, closes or claims the half-open trial with a compare-and-set on the state's generation.
 * Times are the store's own clock, so nodes whose clocks differ still agree on a hold.
 */
export interface SharedBreakerStore {
  /** Whether the store is reachable now. */
  isUp(): boolean;
  /**
   * Adds each report's counts to its breaker's current bucket, forgets buckets older than the
   * window, and answers each breaker's window (per node) and state, in the order of `reports`:
   * one round trip for all of them.
   */
  sync(reports: readonly BreakerReport[]): Promise<BreakerSnapshot[]>;
  /**
   * Opens the breaker (or opens it again after a failed trial) for `holdMs`, if its generation is
   * still `generation`; answers the state after, whoever won.
   */
  open(key: string, generation: number, holdMs: number): Promise<SharedBreakerState>;
  /**
   * Takes the half-open trial for `holder` when the breaker is open at `generation`, its hold is
   * over and nobody holds the trial; the claim lapses after `ttlMs` (a holder that died). True: send it.
   */
  claimTrial(key: string, generation: number, holder: string, ttlMs: number): Promise<boolean>;
  /** Closes the breaker after a successful trial, if still open at `generation`, and forgets its window. */
  close(key: string, generation: number): Promise<SharedBreakerState>;
}

/** One node's outcomes on one breaker since its last report. */
export interface BreakerReport {
  /** The breaker: `<scope>:<connector>:<capability>`. */
  readonly key: string;
  readonly nodeId: string;
  /** Calls that reached a verdict (the breaker's successes and failures; refusals are not calls). */
  readonly calls: number;
  readonly failures: number;
  /** The rolling window; it is kept in ten buckets. */
  readonly windowMs: number;
}

/** A node's counts in the window. A node reporting no calls is still in it: it watches the breaker. */
export interface NodeCounts {
  readonly nodeId: string;
  readonly calls: number;
  readonly failures: number;
}

/** The cluster's state of one breaker. */
export interface SharedBreakerState {
  readonly phase: 'closed' | 'open';
  /** Changes with every open and close; every write is guarded by it. */
  readonly generation: number;
  /** While open: how long until a trial may be sent (0: it is due). */
  readonly holdMs: number;
}

export interface BreakerSnapshot {
  readonly state: SharedBreakerState;
  readonly window: readonly NodeCounts[];
}

/** The number of buckets a window is kept in (its resolution). */
export const WINDOW_BUCKETS = 10;
