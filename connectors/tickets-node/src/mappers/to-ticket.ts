import { field, sourceAttributes, utcFromEpochMs, withAttributes } from 'omnigate/sdk';

const OPEN_STATUSES = new Set(['new', 'open', 'pending']);
const STATUSES = new Set([...OPEN_STATUSES, 'solved', 'closed']);
/** The statuses the tickets service has (and filters on): the canonical names, but for `other`. */
export const SOURCE_STATUSES: ReadonlySet<string> = STATUSES;
const CHANNELS = new Set(['email', 'chat', 'phone', 'web']);

/** The tickets-service fields this mapper maps; any other is kept in `attributes`. */
const MAPPED = ['ticketId', 'requesterId', 'subject', 'description', 'status', 'priority', 'channel', 'tags', 'createdAt', 'updatedAt'];

/**
 * A tickets-service ticket (camelCase, epoch ms) → canonical Ticket; fields with no canonical
 * place are kept in `attributes`. What the source said is kept
 * in `sourceStatus` / `sourceChannel`; a value with no canonical name maps to `other` (a status
 * nobody mapped counts as open, so it is not hidden from agents); a missing channel is `other`
 * with no `sourceChannel` (unknown, not invented).
 */
export function toTicket(raw: unknown, path = 'ticket'): Record<string, unknown> {
  const status = field<string>(raw, 'status', 'string', { path });
  const channel = field<string>(raw, 'channel', 'string', { path, optional: true });
  return {
    id: field<string>(raw, 'ticketId', 'string', { path }),
    requesterRef: field<string>(raw, 'requesterId', 'string', { path }),
    subject: field<string>(raw, 'subject', 'string', { path }),
    description: field<string>(raw, 'description', 'string', { path, optional: true }) ?? '',
    status: STATUSES.has(status) ? status : 'other',
    sourceStatus: status,
    isOpen: OPEN_STATUSES.has(status) || !STATUSES.has(status),
    priority: field<string>(raw, 'priority', 'string', { path }),
    channel: channel !== undefined && CHANNELS.has(channel) ? channel : 'other',
    ...(channel === undefined ? {} : { sourceChannel: channel }),
    tags: field<unknown[]>(raw, 'tags', 'array', { path, optional: true })?.map(String) ?? [],
    createdAt: utcFromEpochMs(field(raw, 'createdAt', 'number', { path }), `${path}.createdAt`),
    updatedAt: utcFromEpochMs(field(raw, 'updatedAt', 'number', { path }), `${path}.updatedAt`),
    ...withAttributes(sourceAttributes(raw, MAPPED)),
  };
}

/** A tickets.search result ({items,nextCursor}) → canonical cursor page. */
export function toTicketPage(raw: unknown, size: number): Record<string, unknown> {
  const items = field<unknown[]>(raw, 'items', 'array', { path: 'result' });
  const nextCursor = field<string>(raw, 'nextCursor', 'string', { path: 'result', optional: true });
  return {
    items: items.map((ticket, i) => toTicket(ticket, `result.items[${i}]`)),
    page: { size, hasMore: nextCursor !== undefined, ...(nextCursor === undefined ? {} : { nextCursor }) },
  };
}
