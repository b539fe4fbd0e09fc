import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { AppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { RoutingRulesValidator } from './routing-rules-validator.ts';
import type { RoutingRules } from './routing.types.ts';

/** Where the shared rules live in the durable Redis (read on its own, so outside the dispatch hash tag). */
export const ROUTING_RULES_KEY = 'omnigate:dispatch:rules';
/** How stale a node's copy of the rules may get: a change reaches every node within this. */
export const DEFAULT_RULES_REFRESH_MS = 1_000;
/** The rules without a file: everything to one group, no priorities. */
export const DEFAULT_ROUTING_RULES: RoutingRules = Object.freeze({ version: 'default', defaultGroup: 'general', rules: [] });

/** The rules in force, with when they were last replaced. */
export interface StoredRoutingRules {
  readonly rules: RoutingRules;
  /** RFC 3339; when they were stored (seeded or replaced). */
  readonly updatedAt: string;
}

export interface RoutingRulesStoreDeps {
  /** The durable Redis. */
  readonly client: Pick<Redis, 'get' | 'set'>;
  readonly validate: RoutingRulesValidator;
  readonly log: Logger;
  /** `OMNIGATE_ROUTING_RULES_FILE`: seeds Redis when it has no rules yet. */
  readonly seedFile?: string;
  readonly refreshMs?: number;
  readonly now?: () => number;
}

/**
 * The routing rules every node uses, kept in Redis: seeded from a file when Redis has none,
 * replaced by `put` (admin API). Each node keeps a copy and re-reads it at most every `refreshMs`
 * when asked, so a change is in force everywhere within about that long, without a restart.
 */
export interface RoutingRulesStore {
  /** Seeds Redis from the file (or the defaults) unless it holds rules; reads them. */
  start(): Promise<void>;
  /** The rules in force (this node's copy, refreshed from Redis at most every `refreshMs`). Never fails: Redis away keeps the last copy. */
  get(): Promise<RoutingRules>;
  /** The same, with when they were stored. */
  stored(): Promise<StoredRoutingRules>;
  /** Validates (every problem at once: VALIDATION_FAILED with `errors`, nothing stored) and replaces the rules. STORE_UNAVAILABLE when Redis is away. */
  put(doc: unknown): Promise<StoredRoutingRules>;
}

export function createRoutingRulesStore(deps: RoutingRulesStoreDeps): RoutingRulesStore {
  const log = deps.log.child({ module: 'routing-rules' });
  const now = deps.now ?? Date.now;
  const refreshMs = deps.refreshMs ?? DEFAULT_RULES_REFRESH_MS;
  let current: StoredRoutingRules | undefined;
  let readAtMs = Number.NEGATIVE_INFINITY;
  let reading: Promise<StoredRoutingRules> | undefined;
  /** Bumped by each put: a read that began before it must not bring back the rules it replaced. */
  let generation = 0;
  /** What the file (or the defaults) says: used until Redis has been read once. */
  let fallback: StoredRoutingRules = { rules: DEFAULT_ROUTING_RULES, updatedAt: new Date(now()).toISOString() };

  function checked(doc: unknown, where: string): RoutingRules {
    const issues = deps.validate(doc);
    if (issues.length > 0) {
      throw new AppError('VALIDATION_FAILED', `${where}: ${issues.map((i) => i.message).join('; ')}`, { errors: issues.map((i) => ({ in: 'body', ...i })) });
    }
    return doc as RoutingRules;
  }

  async function read(): Promise<StoredRoutingRules> {
    const started = generation;
    try {
      const raw = await deps.client.get(ROUTING_RULES_KEY);
      if (raw !== null && started === generation) {
        const stored = JSON.parse(raw) as StoredRoutingRules;
        current = { rules: checked(stored.rules, `the rules in ${ROUTING_RULES_KEY}`), updatedAt: stored.updatedAt };
      }
    } catch (err) {
      // Redis away, or rules stored by a newer version this one cannot read: keep what we had.
      log.warn({ err }, 'routing rules not refreshed from redis: the last rules read stay in force');
    }
    readAtMs = now();
    return current ?? fallback;
  }

  async function stored(): Promise<StoredRoutingRules> {
    if (current !== undefined && now() - readAtMs < refreshMs) return current;
    // One read at a time per node, however many conversations ask.
    reading ??= read().finally(() => {
      reading = undefined;
    });
    return reading;
  }

  return {
    async start() {
      if (deps.seedFile !== undefined) {
        const doc: unknown = JSON.parse(await readFile(deps.seedFile, 'utf8'));
        fallback = { rules: checked(doc, deps.seedFile), updatedAt: new Date(now()).toISOString() };
      }
      try {
        // NX: the first node to start seeds; the others (and restarts) keep what is stored.
        const seeded = await deps.client.set(ROUTING_RULES_KEY, JSON.stringify(fallback), 'NX');
        if (seeded === 'OK') log.info({ version: fallback.rules.version, from: deps.seedFile ?? 'defaults' }, 'routing rules seeded');
      } catch (err) {
        log.warn({ err }, 'routing rules not seeded: redis is away; the file rules are used until it is back');
      }
      const { rules } = await read();
      log.info({ version: rules.version }, 'routing rules in force');
    },
    get: async () => (await stored()).rules,
    stored,
    async put(doc) {
      const next: StoredRoutingRules = { rules: checked(doc, 'body'), updatedAt: new Date(now()).toISOString() };
      try {
        await deps.client.set(ROUTING_RULES_KEY, JSON.stringify(next));
      } catch (err) {
        throw new AppError('STORE_UNAVAILABLE', 'the routing rules could not be stored: redis is unavailable', {}, { cause: err });
      }
      generation++;
      current = next;
      readAtMs = now();
      log.debug({ version: next.rules.version }, 'routing rules replaced');
      return next;
    },
  };
}
