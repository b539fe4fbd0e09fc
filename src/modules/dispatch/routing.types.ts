/**
 * Routing as data: the rules document (`schemas/routing-rules.schema.json`, reloadable), the facts
 * the rules read, and the decision they make. The dispatcher records the decision on the
 * conversation's stream (`conversation.routed`) and `GET /v1/conversations/{id}/routing` explains it.
 */

/** A fact's value; `null` means unknown (the source is down, slow, or does not provide it). */
export type FactValue = string | number | boolean | readonly string[] | null;

/**
 * What routing knows of a conversation, by dotted name:
 * `widget.topic`, `widget.language`, `widget.page`, `widget.group` (what the widget sent at start);
 * `bot.intent`, `bot.language`, `bot.skills` (the bot's classification at handover);
 * `customer.known` (the visitor is a verified customer), `customer.tier`, `customer.language`, `customer.lifetimeValueEur`;
 * `orders.openCount`, `orders.openValueMaxEur` (the largest open order's value, EUR only; open: pending, paid, shipped);
 * `tickets.openCount`, `tickets.openUrgentCount`.
 */
export type Facts = Readonly<Record<string, FactValue>>;

/** Where a group of facts came from and how fresh it is. */
export interface FactSource {
  /** `customer`, `orders`, `tickets`, `widget`, `bot`. */
  readonly name: string;
  /** The connector that answered, for business data. */
  readonly connector?: string;
  /** `ok` live; `stale`: the last good answer (the live call failed or missed the deadline); `cached`: routing's own cache; `missing`: not known (down, slow, not provided, no customer). */
  readonly status: 'ok' | 'stale' | 'cached' | 'missing';
  /** When the data was read from its system (RFC 3339). */
  readonly fetchedAt?: string;
  /** Why it is missing or stale: an error code (`UPSTREAM_TIMEOUT`, `CIRCUIT_OPEN` …) or `NO_CUSTOMER`, `NOT_PROVIDED`. */
  readonly reason?: string;
}

/** The facts and their provenance. */
export interface GatheredFacts {
  readonly facts: Facts;
  readonly sources: readonly FactSource[];
}

/** A condition on facts. A comparison with an unknown fact is unknown, and a rule whose condition is unknown does not fire (it is reported). */
export type Condition =
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] }
  | { readonly not: Condition }
  | {
    readonly fact: string;
    readonly eq?: string | number | boolean;
    readonly ne?: string | number | boolean;
    readonly in?: readonly (string | number)[];
    readonly gt?: number;
    readonly gte?: number;
    readonly lt?: number;
    readonly lte?: number;
    /** `true`: the fact is known; `false`: unknown. Never unknown itself. */
    readonly known?: boolean;
    /** For list facts: the list holds this. */
    readonly contains?: string;
  };

/** What a rule does when it fires. Priorities add up; the last rule that sets a group wins; skills accumulate. */
export interface RuleEffect {
  readonly priority?: number;
  readonly group?: string;
  readonly skills?: readonly string[];
  readonly language?: string;
}

export interface Rule {
  readonly name: string;
  readonly when: Condition;
  readonly then: RuleEffect;
}

/** Weekly opening hours of a group in its time zone, with holidays. */
export interface BusinessHours {
  /** IANA zone: `Europe/Berlin`. */
  readonly timeZone: string;
  /** By day (`mon` … `sun`): `[["09:00","18:00"]]`; a day not listed is closed. */
  readonly weekly: Readonly<Partial<Record<'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun', readonly (readonly [string, string])[]>>>;
  /** Whole days closed, `YYYY-MM-DD` in the zone. */
  readonly holidays?: readonly string[];
}

/** Where a conversation goes when its group cannot take it. */
export type OverflowTarget = { readonly group: string } | { readonly leaveMessage: true };

export interface GroupPolicy {
  /** Absent: always open. */
  readonly hours?: BusinessHours;
  /** How long an agent has to accept an offer (default: the dispatcher's). */
  readonly offerTimeoutMs?: number;
  /** Assign without waiting for an accept. */
  readonly autoAssign?: boolean;
  readonly overflow?: {
    /** Nobody in the group is online (or the group is closed): go here. */
    readonly whenNobodyOnline?: OverflowTarget;
    /** Outside business hours: go here (default: leave a message). */
    readonly whenClosed?: OverflowTarget;
    /** A conversation has waited longer than `afterMs`: go to `to`. */
    readonly whenWaitExceeds?: { readonly afterMs: number; readonly to: OverflowTarget };
  };
}

/** The rules document. */
export interface RoutingRules {
  /** Shown in every decision, so a decision names the rules it used. */
  readonly version: string;
  /** The group when no rule and no widget names one. */
  readonly defaultGroup: string;
  /** How a point of priority trades against waiting: rank = enqueuedAtMs − priority × msPerPoint (ageing: nothing starves). */
  readonly ageing?: { readonly msPerPoint: number };
  readonly groups?: Readonly<Record<string, GroupPolicy>>;
  /** Evaluated in order. */
  readonly rules: readonly Rule[];
}

/** One rule's outcome, for the explanation. */
export interface RuleOutcome {
  readonly rule: string;
  /** `unknown`: it depends on a fact nobody knows. */
  readonly outcome: 'fired' | 'not_matched' | 'unknown';
  /** The facts it read, with their values. */
  readonly read: Readonly<Record<string, FactValue>>;
  readonly effect?: RuleEffect;
}

/** What the rules made of the facts. */
export interface RuleResult {
  readonly group: string;
  readonly priority: number;
  readonly skills: readonly string[];
  readonly language?: string;
  readonly outcomes: readonly RuleOutcome[];
}

/** The decision at enqueue: recorded as `conversation.routed` (internal) and answered by GET /v1/conversations/{id}/routing. */
export interface RoutingDecision extends RuleResult {
  readonly decisionId: string;
  readonly rulesVersion: string;
  readonly facts: Facts;
  readonly sources: readonly FactSource[];
  /** Fact sources nothing is known of (their names: status `missing`). A source answered from its last known copy is `stale` in `sources`, not listed here. */
  readonly missing: readonly string[];
  readonly decidedAt: string;
}
