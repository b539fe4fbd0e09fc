import { resolve } from 'node:path';
import { readEnvArea } from './env-area.ts';

/** How long an agent has to accept an offer before it moves on to the next agent. */
export const DEFAULT_DISPATCH_OFFER_TIMEOUT_MS = 30_000;
/** Offers an agent may let expire in a row before it is set away. */
export const DEFAULT_DISPATCH_MAX_MISSES = 3;
/** How often every node looks for expired and unconfirmed offers and long waits. */
export const DEFAULT_DISPATCH_SWEEP_INTERVAL_MS = 1_000;
/** How often a node tells its visitors their queue position (when it changed). */
export const DEFAULT_DISPATCH_POSITION_INTERVAL_MS = 5_000;
/** How long routing waits for business data before it decides with what it has. */
export const DEFAULT_DISPATCH_FACTS_TIMEOUT_MS = 1_500;
/** How long routing reuses a customer's business data. */
export const DEFAULT_DISPATCH_FACTS_CACHE_TTL_MS = 60_000;
/** How long routing keeps each source's last known business data per customer, to use (marked stale) when that source is down or slow. */
export const DEFAULT_DISPATCH_FACTS_LAST_KNOWN_TTL_MS = 7 * 24 * 60 * 60_000;
/** How deep a claim looks into a group's queue for an entry a free agent can take. */
export const DEFAULT_DISPATCH_SCAN_DEPTH = 50;
/** An accepted offer whose `assigned` event is not appended this long after the accept is completed by a sweeper. */
export const DEFAULT_DISPATCH_UNCONFIRMED_AFTER_MS = 5_000;

/** How often each node writes every agent's profile and presence to the dispatch store again (a sync lost to a Redis failure heals then). */
export const DEFAULT_DISPATCH_AGENT_RESYNC_INTERVAL_MS = 60_000;

/** How often each node looks for queued conversations dispatch lost track of (a node died while routing one). */
export const DEFAULT_DISPATCH_RECOVER_INTERVAL_MS = 60_000;

/** The dispatch settings (`OMNIGATE_DISPATCH*`, `OMNIGATE_ROUTING_RULES_FILE`), parsed once and frozen. Durations in ms, so tests can make every timer short. */
export interface DispatchConfig {
  /** `OMNIGATE_DISPATCH`: `manual` (agents pick from the queue; nothing is offered) or `routing` (rules, queues per group, offers). */
  readonly mode: 'manual' | 'routing';
  /** `OMNIGATE_ROUTING_RULES_FILE`: the rules document that seeds the shared rules when none are stored yet (absolute; resolved from the root). Absent: built-in defaults. */
  readonly rulesFile?: string;
  /** `OMNIGATE_DISPATCH_OFFER_TIMEOUT_MS`: an offer not accepted this long expires and moves on (a group's policy may say otherwise). */
  readonly offerTimeoutMs: number;
  /** `OMNIGATE_DISPATCH_MAX_MISSES`: offers an agent lets expire in a row before it is set away. */
  readonly maxMisses: number;
  /** `OMNIGATE_DISPATCH_SWEEP_INTERVAL_MS`: every node's sweep for expired and unconfirmed offers and waits past a group's threshold. */
  readonly sweepIntervalMs: number;
  /** `OMNIGATE_DISPATCH_POSITION_INTERVAL_MS`: each node sends its visitors their queue position at most this often (only when it changed). */
  readonly positionIntervalMs: number;
  /** `OMNIGATE_DISPATCH_FACTS_TIMEOUT_MS`: business data not gathered in this time is marked missing and routing goes on without it. */
  readonly factsTimeoutMs: number;
  /** `OMNIGATE_DISPATCH_FACTS_CACHE_TTL_MS`: routing reuses a customer's business data this long (marked `cached`). */
  readonly factsCacheTtlMs: number;
  /** `OMNIGATE_DISPATCH_FACTS_LAST_KNOWN_TTL_MS`: routing keeps each source's last answer per customer this long, and uses it (marked `stale`) when the source fails or misses the facts deadline; 0: off. */
  readonly factsLastKnownTtlMs: number;
  /** `OMNIGATE_DISPATCH_SCAN_DEPTH`: entries a claim looks at in a group's queue for one a free agent can take. */
  readonly scanDepth: number;
  /** `OMNIGATE_DISPATCH_UNCONFIRMED_AFTER_MS`: an accepted offer not yet recorded as `assigned` after this long is completed by a sweeper (its node died). */
  readonly unconfirmedAfterMs: number;
  /** `OMNIGATE_DISPATCH_RECOVER_INTERVAL_MS`: each node routes again, this often (and at start), queued conversations that are in no group's queue and have no offer (their node died while routing them, or they were queued under manual dispatch); 0: never. */
  readonly recoverIntervalMs: number;
  /** `OMNIGATE_DISPATCH_AGENT_RESYNC_INTERVAL_MS`: each node writes every agent's profile and presence to the dispatch store again this often (a presence change whose sync failed, even after its retries, heals then); 0: never. */
  readonly agentResyncIntervalMs: number;
  /**
   * `OMNIGATE_FAULT_KILL_AFTER_CLAIM`: FAULT INJECTION for the fault tests only, off by default, never
   * in production. The node kills itself (SIGKILL) right after the store took an agent's accept and
   * before the `assigned` event is appended: the crash the `unconfirmed` sweep exists for.
   */
  readonly faultKillAfterClaim: boolean;
}

const HOUR_MS = 60 * 60_000;
const SCHEMA = {
  type: 'object',
  properties: {
    OMNIGATE_DISPATCH: { enum: ['manual', 'routing'], default: 'manual' },
    OMNIGATE_ROUTING_RULES_FILE: { type: 'string', minLength: 1 },
    OMNIGATE_DISPATCH_OFFER_TIMEOUT_MS: { type: 'integer', minimum: 10, maximum: HOUR_MS, default: DEFAULT_DISPATCH_OFFER_TIMEOUT_MS },
    OMNIGATE_DISPATCH_MAX_MISSES: { type: 'integer', minimum: 1, maximum: 1_000, default: DEFAULT_DISPATCH_MAX_MISSES },
    OMNIGATE_DISPATCH_SWEEP_INTERVAL_MS: { type: 'integer', minimum: 10, maximum: 60_000, default: DEFAULT_DISPATCH_SWEEP_INTERVAL_MS },
    OMNIGATE_DISPATCH_POSITION_INTERVAL_MS: { type: 'integer', minimum: 10, maximum: 600_000, default: DEFAULT_DISPATCH_POSITION_INTERVAL_MS },
    OMNIGATE_DISPATCH_FACTS_TIMEOUT_MS: { type: 'integer', minimum: 10, maximum: 60_000, default: DEFAULT_DISPATCH_FACTS_TIMEOUT_MS },
    OMNIGATE_DISPATCH_FACTS_CACHE_TTL_MS: { type: 'integer', minimum: 0, maximum: 24 * HOUR_MS, default: DEFAULT_DISPATCH_FACTS_CACHE_TTL_MS },
    OMNIGATE_DISPATCH_FACTS_LAST_KNOWN_TTL_MS: { type: 'integer', minimum: 0, maximum: 90 * 24 * HOUR_MS, default: DEFAULT_DISPATCH_FACTS_LAST_KNOWN_TTL_MS },
    OMNIGATE_DISPATCH_SCAN_DEPTH: { type: 'integer', minimum: 1, maximum: 10_000, default: DEFAULT_DISPATCH_SCAN_DEPTH },
    OMNIGATE_DISPATCH_UNCONFIRMED_AFTER_MS: { type: 'integer', minimum: 10, maximum: HOUR_MS, default: DEFAULT_DISPATCH_UNCONFIRMED_AFTER_MS },
    OMNIGATE_DISPATCH_RECOVER_INTERVAL_MS: { type: 'integer', minimum: 0, maximum: 24 * HOUR_MS, default: DEFAULT_DISPATCH_RECOVER_INTERVAL_MS },
    OMNIGATE_DISPATCH_AGENT_RESYNC_INTERVAL_MS: { type: 'integer', minimum: 0, maximum: 24 * HOUR_MS, default: DEFAULT_DISPATCH_AGENT_RESYNC_INTERVAL_MS },
    OMNIGATE_FAULT_KILL_AFTER_CLAIM: { type: 'boolean', default: false },
  },
} as const;

/** The dispatch settings from the environment, or every problem with them (each naming its variable). */
export function parseDispatchConfig(env: NodeJS.ProcessEnv, rootDir: string): { config: DispatchConfig; problems?: never } | { config?: never; problems: string[] } {
  const { raw, problems } = readEnvArea(env, SCHEMA);
  if (problems.length > 0) return { problems };
  const rulesFile = raw.OMNIGATE_ROUTING_RULES_FILE as string | undefined;
  return {
    config: Object.freeze({
      mode: raw.OMNIGATE_DISPATCH as DispatchConfig['mode'],
      ...(rulesFile === undefined ? {} : { rulesFile: resolve(rootDir, rulesFile) }),
      offerTimeoutMs: raw.OMNIGATE_DISPATCH_OFFER_TIMEOUT_MS as number,
      maxMisses: raw.OMNIGATE_DISPATCH_MAX_MISSES as number,
      sweepIntervalMs: raw.OMNIGATE_DISPATCH_SWEEP_INTERVAL_MS as number,
      positionIntervalMs: raw.OMNIGATE_DISPATCH_POSITION_INTERVAL_MS as number,
      factsTimeoutMs: raw.OMNIGATE_DISPATCH_FACTS_TIMEOUT_MS as number,
      factsCacheTtlMs: raw.OMNIGATE_DISPATCH_FACTS_CACHE_TTL_MS as number,
      factsLastKnownTtlMs: raw.OMNIGATE_DISPATCH_FACTS_LAST_KNOWN_TTL_MS as number,
      scanDepth: raw.OMNIGATE_DISPATCH_SCAN_DEPTH as number,
      unconfirmedAfterMs: raw.OMNIGATE_DISPATCH_UNCONFIRMED_AFTER_MS as number,
      recoverIntervalMs: raw.OMNIGATE_DISPATCH_RECOVER_INTERVAL_MS as number,
      agentResyncIntervalMs: raw.OMNIGATE_DISPATCH_AGENT_RESYNC_INTERVAL_MS as number,
      faultKillAfterClaim: raw.OMNIGATE_FAULT_KILL_AFTER_CLAIM as boolean,
    }),
  };
}
