import { field, money, sourceAttributes, utcFromZoned, withAttributes } from 'omnigate/sdk';

/** CRM system name → the canonical `externalIds` key. */
const EXTERNAL_IDS: Readonly<Record<string, string>> = { orders_customer_no: 'orders', tickets_user_id: 'tickets' };

/** The CRM fields this mapper maps; any other field of the record is kept in `attributes`. */
const MAPPED = ['id', 'first_name', 'last_name', 'email', 'phone', 'tier', 'language', 'created_at', 'lifetime_value', 'currency', 'external_ids'];

/**
 * A DRF customer (snake_case, decimal strings, zoned times) → canonical Customer. Fields with no
 * canonical place are kept in `attributes` as the CRM gave them, ids of systems Omnigate has no
 * name for under `attributes.external_ids`.
 */
export function toCustomer(raw: unknown, path = 'customer'): Record<string, unknown> {
  const given = field<string>(raw, 'first_name', 'string', { path });
  const family = field<string>(raw, 'last_name', 'string', { path });
  const ids = field<Record<string, unknown>>(raw, 'external_ids', 'object', { path });
  const externalIds: Record<string, string> = {};
  for (const [key, system] of Object.entries(EXTERNAL_IDS)) {
    const value = field<string>(ids, key, 'string', { path: `${path}.external_ids`, optional: true });
    if (value !== undefined) externalIds[system] = value;
  }
  const phone = field<string>(raw, 'phone', 'string', { path, optional: true });
  const otherIds = sourceAttributes(ids, Object.keys(EXTERNAL_IDS));
  const attributes = { ...sourceAttributes(raw, MAPPED), ...(otherIds === undefined ? {} : { external_ids: otherIds }) };
  return {
    id: String(field<number>(raw, 'id', 'integer', { path })),
    displayName: `${given} ${family}`.trim(),
    givenName: given,
    familyName: family,
    email: field<string>(raw, 'email', 'string', { path }),
    ...(phone ? { phone } : {}),
    tier: field<string>(raw, 'tier', 'string', { path }),
    language: field<string>(raw, 'language', 'string', { path }),
    createdAt: utcFromZoned(field<string>(raw, 'created_at', 'string', { path }), `${path}.created_at`),
    lifetimeValue: money(field<string>(raw, 'lifetime_value', 'string', { path }), field<string>(raw, 'currency', 'string', { path }), `${path}.lifetime_value`),
    externalIds,
    ...withAttributes(Object.keys(attributes).length === 0 ? undefined : attributes),
  };
}
