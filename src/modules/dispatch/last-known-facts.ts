import { BUSINESS_FACTS, type BusinessFacts, type BusinessSource } from './business-facts.ts';
import type { FactSource, FactValue } from './routing.types.ts';

/** One source's facts as last read for a customer (status `ok` or `stale`, with its `fetchedAt`). */
export interface LastKnownFacts {
  readonly facts: Record<string, FactValue>;
  readonly source: FactSource;
}

/** Why a source gave nothing without failing: nothing to fall back on for those. */
const NOT_A_FAILURE: ReadonlySet<string> = new Set(['NO_CUSTOMER', 'NOT_PROVIDED']);

const isBusiness = (name: string): name is BusinessSource => Object.hasOwn(BUSINESS_FACTS, name);
const later = (a: string | undefined, b: string | undefined) => a !== undefined && (b === undefined || Date.parse(a) > Date.parse(b));

/**
 * The business sources whose last known facts could stand in for today's answer: those that
 * failed or missed the deadline (`missing` for a reason other than `NO_CUSTOMER`/`NOT_PROVIDED`),
 * and those answered `stale` by the query layer (routing may know a newer copy).
 */
export function wantsLastKnown(gathered: BusinessFacts): BusinessSource[] {
  return gathered.sources
    .filter((s) => isBusiness(s.name) && (s.status === 'stale' || (s.status === 'missing' && !NOT_A_FAILURE.has(s.reason ?? ''))))
    .map((s) => s.name as BusinessSource);
}

/**
 * Today's answer with each failed source replaced by its last known facts, marked `stale` with
 * when they were read and why today's call gave nothing (`UPSTREAM_TIMEOUT`, `CIRCUIT_OPEN` …); a
 * `stale` source keeps the newer of the two copies. `remember`: the sources to store as last known
 * (`ok`, or `stale` from the query layer and newer than routing's copy).
 */
export function withLastKnown(gathered: BusinessFacts, last: Partial<Record<BusinessSource, LastKnownFacts>>): BusinessFacts & { readonly remember: Partial<Record<BusinessSource, LastKnownFacts>> } {
  const facts = { ...gathered.facts };
  const remember: Partial<Record<BusinessSource, LastKnownFacts>> = {};
  const sources = gathered.sources.map((source): FactSource => {
    if (!isBusiness(source.name)) return source;
    const own = (): LastKnownFacts => ({ facts: pick(gathered.facts, source.name as BusinessSource), source });
    const known = last[source.name];
    const fallback = known !== undefined && wantsLastKnown({ facts: {}, sources: [source] }).length === 1
      && (source.status === 'missing' || later(known.source.fetchedAt, source.fetchedAt));
    if (!fallback) {
      if (source.status === 'ok' || source.status === 'stale') remember[source.name] = own();
      return source;
    }
    Object.assign(facts, known.facts);
    const connector = known.source.connector ?? source.connector;
    return {
      name: source.name, ...(connector === undefined ? {} : { connector }), status: 'stale',
      ...(known.source.fetchedAt === undefined ? {} : { fetchedAt: known.source.fetchedAt }),
      ...(source.reason === undefined ? {} : { reason: source.reason }),
    };
  });
  return { facts, sources, remember };
}

function pick(facts: Record<string, FactValue>, name: BusinessSource): Record<string, FactValue> {
  return Object.fromEntries(BUSINESS_FACTS[name].map((fact) => [fact, facts[fact] ?? null]));
}
