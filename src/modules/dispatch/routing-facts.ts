import { randomUUID } from 'node:crypto';
import { toAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { startTrace, type TraceContext } from '../../kernel/trace.ts';
import type { StaleCache } from '../../ports/cache.ts';
import type { Classification, VisitorRef } from '../chat/conversation.types.ts';
import type { ContextService } from '../query/context.service.ts';
import { businessFacts, unknownBusinessFacts, type BusinessFacts, type BusinessSource } from './business-facts.ts';
import { wantsLastKnown, withLastKnown, type LastKnownFacts } from './last-known-facts.ts';
import type { FactSource, FactValue, GatheredFacts } from './routing.types.ts';

/** How long the context may still take to settle once the deadline aborted its calls. */
export const DEFAULT_ABORT_GRACE_MS = 50;
/** Orders and open tickets read per customer (the first page of each). */
export const DEFAULT_FACT_LIMITS = { orders: 50, tickets: 50 } as const;

/** What routing's facts read of a conversation: its state (`ConversationState` fits). */
export interface RoutingFactsSubject {
  readonly visitor?: VisitorRef;
  readonly group?: string;
  readonly language?: string;
  readonly topic?: string;
  readonly page?: string;
}

/** What the conversation's state does not hold. */
export interface GatherExtra {
  /** The bot's classification from the `conversation.queued` event, when there was a bot. */
  readonly classification?: Classification;
  /** The trace the gathering belongs to (else a new one). */
  readonly trace?: TraceContext;
  readonly conversationId?: string;
}

export interface RoutingFactsDeps {
  readonly context: ContextService;
  /** Routing's own facts cache per customer (the cache Redis); none: always live. */
  readonly cache?: StaleCache;
  readonly log: Logger;
  /** The deadline for business data: what is not back by then is its last known copy (`stale`), else `missing` (`UPSTREAM_TIMEOUT`). */
  readonly timeoutMs: number;
  /** How long a customer's business facts are reused (`cached`); 0: off. */
  readonly cacheTtlMs: number;
  /** How long each source's last known facts per customer are kept, to stand in (`stale`) when it fails or is slow; 0: off. */
  readonly lastKnownTtlMs: number;
  readonly abortGraceMs?: number;
  readonly limits?: { readonly orders: number; readonly tickets: number };
  readonly now?: () => number;
}

/** Gathers routing's facts for a conversation; never fails and never takes (much) longer than the deadline. */
export interface RoutingFacts {
  gather(subject: RoutingFactsSubject, extra?: GatherExtra): Promise<GatheredFacts>;
}

interface CachedFacts {
  readonly facts: Record<string, FactValue>;
  readonly sources: readonly FactSource[];
}

/**
 * Routing's facts: the widget's (topic, page, language, group), the bot's classification, and the
 * business data of a verified customer through the unified query API (the customer context), each
 * source with its status and freshness. A slow source never holds routing: at `timeoutMs` its
 * calls are abandoned. A complete answer is kept per customer for `cacheTtlMs` (reused `cached`);
 * each source's last answer (`ok` or `stale`) per customer for `lastKnownTtlMs`: a source that
 * fails or misses the deadline is answered from it, `stale` with its `fetchedAt` and the reason,
 * and is `missing` only when routing never read it.
 */
export function createRoutingFacts(deps: RoutingFactsDeps): RoutingFacts {
  const log = deps.log.child({ module: 'routing-facts' });
  const now = deps.now ?? Date.now;
  const limits = deps.limits ?? DEFAULT_FACT_LIMITS;
  const graceMs = deps.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
  const cacheKey = (customerId: string) => `routing-facts:${customerId}`;
  const lastKey = (customerId: string, source: BusinessSource) => `routing-facts-last:${customerId}:${source}`;

  async function live(customerId: string, extra: GatherExtra): Promise<BusinessFacts> {
    const controller = new AbortController();
    const trace = extra.trace ?? startTrace(undefined, `routing-${randomUUID()}`);
    const callLog = log.child({ customerId, ...(extra.conversationId ? { conversationId: extra.conversationId } : {}) });
    const work = deps.context.customerContext(customerId, limits, { trace, log: callLog, signal: controller.signal });
    const fetchedAt = new Date(now()).toISOString();
    let outcome = await settleWithin(work, deps.timeoutMs);
    const timedOut = outcome === undefined;
    if (timedOut) {
      // Abandon what is still running: the parts already back stay known.
      controller.abort();
      outcome = await settleWithin(work, graceMs);
    }
    if (outcome === undefined) {
      callLog.warn({ timeoutMs: deps.timeoutMs }, 'routing facts: business data not back by the deadline');
      return unknownBusinessFacts('UPSTREAM_TIMEOUT');
    }
    if ('error' in outcome) {
      const error = toAppError(outcome.error);
      callLog.warn({ code: error.code, err: error }, 'routing facts: no customer context');
      return unknownBusinessFacts(timedOut && error.retryable ? 'UPSTREAM_TIMEOUT' : error.code);
    }
    return businessFacts(outcome.value, fetchedAt, timedOut);
  }

  /** Today's answer completed from (and recorded in) the last known facts, and kept fresh when complete. */
  async function remembered(customerId: string, gathered: BusinessFacts): Promise<BusinessFacts> {
    const cache = deps.cache;
    if (!cache) return gathered;
    const fresh = deps.cacheTtlMs > 0 && gathered.sources.every((s) => s.status === 'ok')
      ? cache.set(cacheKey(customerId), gathered satisfies CachedFacts, deps.cacheTtlMs)
      : undefined;
    if (deps.lastKnownTtlMs <= 0) {
      await fresh;
      return gathered;
    }
    const wanted = wantsLastKnown(gathered);
    const copies = await Promise.all(wanted.map(async (name) => [name, (await cache.get<LastKnownFacts>(lastKey(customerId, name)))?.value] as const));
    const last = Object.fromEntries(copies.filter(([, copy]) => copy !== undefined)) as Partial<Record<BusinessSource, LastKnownFacts>>;
    const { remember, ...merged } = withLastKnown(gathered, last);
    await Promise.all([
      fresh,
      ...Object.entries(remember).map(([name, copy]) => cache.set(lastKey(customerId, name as BusinessSource), copy, deps.lastKnownTtlMs)),
    ]);
    return merged;
  }

  async function business(customerId: string, extra: GatherExtra): Promise<BusinessFacts> {
    if (deps.cache && deps.cacheTtlMs > 0) {
      const hit = await deps.cache.get<CachedFacts>(cacheKey(customerId));
      if (hit) return { facts: { ...hit.value.facts }, sources: hit.value.sources.map((s) => ({ ...s, status: 'cached' as const })) };
    }
    return remembered(customerId, await live(customerId, extra));
  }

  return {
    async gather(subject, extra = {}) {
      const customerId = subject.visitor?.customerId;
      const { classification } = extra;
      const widget: Record<string, FactValue> = {
        'widget.topic': subject.topic ?? null,
        'widget.page': subject.page ?? null,
        'widget.language': subject.language ?? null,
        'widget.group': subject.group ?? null,
      };
      const bot: Record<string, FactValue> = {
        'bot.intent': classification?.intent ?? null,
        'bot.language': classification?.language ?? null,
        'bot.skills': classification?.skills ?? null,
      };
      const biz = customerId === undefined ? unknownBusinessFacts('NO_CUSTOMER') : await business(customerId, extra);
      const sources: FactSource[] = [{ name: 'widget', status: 'ok' }];
      // No bot, no classification: nothing is missing, there was nothing to have.
      if (classification) sources.push({ name: 'bot', status: 'ok' });
      return {
        facts: { ...widget, ...bot, 'customer.known': customerId !== undefined, ...biz.facts },
        sources: [...sources, ...biz.sources],
      };
    },
  };
}

type Settled<T> = { readonly value: T } | { readonly error: unknown };

/** `work`'s outcome if it settles within `ms`, else undefined (work goes on; its failure is handled). */
async function settleWithin<T>(work: Promise<T>, ms: number): Promise<Settled<T> | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  try {
    return await Promise.race([work.then((value) => ({ value }), (error: unknown) => ({ error })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
