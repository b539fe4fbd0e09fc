import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { WidgetKey } from '../../config/identity-config.ts';

/** The sites' widget keys, looked up by public key or by name, and what they allow. */
export interface WidgetKeys {
  /** The widget key sent in `X-Widget-Key`, if it is one. */
  byKey(key: string): WidgetKey | undefined;
  byName(site: string): WidgetKey | undefined;
  /** Whether the site's pages may be served from `origin`. */
  originAllowed(site: string, origin: string): boolean;
  /** Whether any site allows `origin` (a CORS preflight does not say which site it is for). */
  anyAllows(origin: string): boolean;
}

/** Origins compare as browsers send them: scheme and host lower case, no trailing slash. */
const normalOrigin = (origin: string): string => origin.trim().replace(/\/$/, '').toLowerCase();

export function createWidgetKeys(keys: readonly WidgetKey[]): WidgetKeys {
  const byKey = new Map(keys.map((k) => [k.key, k]));
  const byName = new Map(keys.map((k) => [k.name, k]));
  const origins = new Map(keys.map((k) => [k.name, new Set(k.origins.map(normalOrigin))]));
  const all = new Set(keys.flatMap((k) => k.origins.map(normalOrigin)));
  return {
    byKey: (key) => byKey.get(key),
    byName: (site) => byName.get(site),
    originAllowed: (site, origin) => origins.get(site)?.has(normalOrigin(origin)) ?? false,
    anyAllows: (origin) => all.has(normalOrigin(origin)),
  };
}

/** The identity proof a site's server computes: hex HMAC-SHA256 of the customer id under the site's secret. */
export function customerHmac(secret: string, customerId: string): string {
  return createHmac('sha256', secret).update(customerId, 'utf8').digest('hex');
}

/**
 * Whether `presented` is the customer id's HMAC under `secret`, compared in constant time (as
 * digests, so a wrong length takes as long as a wrong byte). Hex in either case is accepted.
 */
export function isCustomerHmac(secret: string, customerId: string, presented: string): boolean {
  const sha = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(sha(customerHmac(secret, customerId)), sha(presented.toLowerCase()));
}
