import { BadUpstreamDataError } from './errors.ts';

/** Canonical money: a decimal string with the currency's minor digits, and an ISO 4217 code. */
export interface Money {
  readonly amount: string;
  readonly currency: string;
}

type Kind = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';

/**
 * Reads one field of a backend record, checking its type. A wrong or missing value throws
 * BadUpstreamDataError naming the field, so a broken reply never reaches the client.
 */
export function field<T = unknown>(record: unknown, name: string, kind: Kind, options: { optional?: boolean; path?: string } = {}): T {
  const where = options.path ? `${options.path}.${name}` : name;
  if (typeof record !== 'object' || record === null) throw new BadUpstreamDataError(options.path ?? '(body)', `expected an object at ${options.path ?? 'the top level'}`);
  const value = (record as Record<string, unknown>)[name];
  if (value === undefined || value === null) {
    if (options.optional) return undefined as T;
    throw new BadUpstreamDataError(where, `${where} is missing`);
  }
  const ok =
    kind === 'array' ? Array.isArray(value)
    : kind === 'integer' ? Number.isInteger(value)
    : kind === 'object' ? typeof value === 'object' && !Array.isArray(value)
    : typeof value === kind;
  if (!ok) throw new BadUpstreamDataError(where, `${where} should be ${kind === 'integer' ? 'an integer' : `a ${kind}`}, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  return value as T;
}

/** `12345` minor units with 2 digits → `"123.45"`. Exact: no floating point on the way. */
export function minorToDecimal(minor: number, digits = 2): string {
  const negative = minor < 0;
  const text = String(Math.abs(minor)).padStart(digits + 1, '0');
  const decimal = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return negative ? `-${decimal}` : decimal;
}

/** Builds canonical money from a decimal string, normalising it to two digits. */
export function money(amount: string, currency: string, fieldName = 'amount'): Money {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(amount.trim());
  if (!match) throw new BadUpstreamDataError(fieldName, `${fieldName} is not a decimal amount`);
  return { amount: `${match[1]}${match[2]}.${(match[3] ?? '').padEnd(2, '0')}`, currency };
}

/**
 * A local date-time without zone (`2024-03-05T10:15:30`), as the backend keeps it in its own
 * IANA time zone, → RFC 3339 UTC. Daylight-saving gaps resolve like java.time does (forward).
 */
export function utcFromLocal(local: string, fieldName: string, timeZone = 'UTC'): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(local)) {
    throw new BadUpstreamDataError(fieldName, `${fieldName} is not a local date-time`);
  }
  const asUtc = Date.parse(`${local}Z`);
  if (Number.isNaN(asUtc)) throw new BadUpstreamDataError(fieldName, `${fieldName} is not a valid date`);
  const first = asUtc - zoneOffsetMs(asUtc, timeZone);
  return new Date(asUtc - zoneOffsetMs(first, timeZone)).toISOString();
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();
/** A zone's offset per UTC day already asked, when it is the same at both ends of it. */
const dayOffsets = new Map<string, number>();
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * How far the zone's wall clock is ahead of UTC at the instant `ms`. Intl's formatToParts is slow
 * (a fifth of a connector worker's time mapping orders), and a zone's offset is the same all
 * through a day unless it changes within it (no zone changes twice in a day): one whose two ends
 * agree is remembered. By day, not by quarter hour as before: the seeded orders fall on 1,306
 * days but 8,306 hours, and each new one cost three Intl calls.
 */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const day = Math.floor(ms / DAY_MS);
  const key = `${timeZone} ${day}`;
  const known = dayOffsets.get(key);
  if (known !== undefined) return known;
  const offset = offsetByIntl(ms, timeZone);
  const start = day * DAY_MS;
  if (offsetByIntl(start, timeZone) === offset && offsetByIntl(start + DAY_MS - 1000, timeZone) === offset) {
    if (dayOffsets.size >= 10_000) dayOffsets.clear();
    dayOffsets.set(key, offset);
  }
  return offset;
}

function offsetByIntl(ms: number, timeZone: string): number {
  let format = zoneFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    zoneFormats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(ms).map((p) => [p.type, Number(p.value)]));
  const wall = Date.UTC(parts.year ?? 0, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  return wall - (ms - (ms % 1000));
}

/** A zoned timestamp (`2023-05-01T10:00:00+02:00`) → RFC 3339 UTC. */
export function utcFromZoned(zoned: string, fieldName: string): string {
  const ms = /(Z|[+-]\d{2}:\d{2})$/.test(zoned) ? Date.parse(zoned) : Number.NaN;
  if (Number.isNaN(ms)) throw new BadUpstreamDataError(fieldName, `${fieldName} is not a zoned timestamp`);
  return new Date(ms).toISOString();
}

/** Epoch milliseconds → RFC 3339 UTC. */
export function utcFromEpochMs(ms: unknown, fieldName: string): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new BadUpstreamDataError(fieldName, `${fieldName} should be epoch milliseconds, got ${typeof ms}`);
  }
  return new Date(ms).toISOString();
}

/** At most this many keys in a canonical `attributes` object (schemas/attributes.schema.json). */
export const MAX_ATTRIBUTES = 50;
/** The longest key of a canonical `attributes` object. */
export const MAX_ATTRIBUTE_KEY_LENGTH = 64;

/**
 * The fields of a backend record that the mapper did not map (not named in `mapped`), as the
 * source gave them, for the entity's `attributes` instead of dropping them. Bounded as the
 * schema says: a key of more than 64 characters is left out, and only the first 50 keys (in the
 * record's order) are kept. Null values are kept (the source said null); undefined when nothing
 * is left, so the entity has no `attributes`.
 *
 * `return { id, …, ...withAttributes(sourceAttributes(raw, ['id', 'name', …])) }`
 */
export function sourceAttributes(record: unknown, mapped: readonly string[]): Record<string, unknown> | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const skip = new Set(mapped);
  const kept = Object.entries(record as Record<string, unknown>)
    .filter(([key, value]) => !skip.has(key) && value !== undefined && key.length >= 1 && key.length <= MAX_ATTRIBUTE_KEY_LENGTH)
    .slice(0, MAX_ATTRIBUTES);
  return kept.length === 0 ? undefined : Object.fromEntries(kept);
}

/** `{ attributes }` to spread into a canonical entity, or nothing when there are none. */
export const withAttributes = (attributes: Record<string, unknown> | undefined): { attributes?: Record<string, unknown> } =>
  attributes === undefined ? {} : { attributes };
