// The JSON-RPC methods: tickets.get, tickets.search, tickets.create, tickets.update, requesters.ensure.
import { STATUSES, PRIORITIES, CHANNELS, newestFirst } from './store.mjs';

export const ERR_INVALID_PARAMS = -32602;
export const ERR_TICKET_NOT_FOUND = -32004;
export const ERR_UNKNOWN_REQUESTER = -32005;

export class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

const invalid = (message) => new RpcError(ERR_INVALID_PARAMS, 'Invalid params', { reason: message });

function objectParams(params) {
  if (params === undefined) return {};
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw invalid('params must be an object (by-name parameters)');
  }
  return params;
}

function requireString(p, name, { max = 200, allowEmpty = false } = {}) {
  const v = p[name];
  if (typeof v !== 'string') throw invalid(`${name} must be a string`);
  if (!allowEmpty && v.trim() === '') throw invalid(`${name} must not be empty`);
  if (v.length > max) throw invalid(`${name} must be at most ${max} characters`);
  return v;
}

function requireKnownRequester(store, requesterId) {
  if (!store.hasUser(requesterId)) {
    throw new RpcError(ERR_UNKNOWN_REQUESTER, 'Unknown requester', { requesterId });
  }
}

// Cursor: opaque base64url of the last item's sort key, bound to the requester.
function encodeCursor(requesterId, ticket) {
  const json = JSON.stringify({ r: requesterId, c: ticket.createdAt, t: ticket.ticketId });
  return Buffer.from(json, 'utf8').toString('base64url');
}

function decodeCursor(cursor, requesterId) {
  let key;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('cursor is not valid');
  }
  if (key?.r !== requesterId || !Number.isFinite(key.c) || typeof key.t !== 'string') {
    throw invalid('cursor is not valid for this requester');
  }
  return { createdAt: key.c, ticketId: key.t };
}

// Deliberately loose (as ticket systems are): one @, something on each side, a dot in the domain, no spaces.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A field tickets.update may change: undefined or null means "leave as it is". */
const given = (p, name) => p[name] !== undefined && p[name] !== null;

/**
 * The methods over a store. `onEvent(type, ticket)` is called after every change
 * ("ticket.created" | "ticket.updated"); it must not throw or block.
 */
export function createMethods(store, now = Date.now, onEvent = () => {}) {
  return {
    'tickets.get'(params) {
      const p = objectParams(params);
      const ticketId = requireString(p, 'ticketId', { max: 64 });
      const ticket = store.get(ticketId);
      if (!ticket) throw new RpcError(ERR_TICKET_NOT_FOUND, 'Ticket not found', { ticketId });
      return ticket;
    },

    'tickets.search'(params) {
      const p = objectParams(params);
      const requesterId = requireString(p, 'requesterId', { max: 64 });
      let statuses = null;
      if (p.status !== undefined && p.status !== null) {
        if (!Array.isArray(p.status) || p.status.length === 0) {
          throw invalid('status must be a non-empty array');
        }
        for (const s of p.status) {
          if (!STATUSES.includes(s)) throw invalid(`status must be among ${STATUSES.join(', ')}`);
        }
        statuses = new Set(p.status);
      }
      const limit = p.limit ?? 20;
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        throw invalid('limit must be an integer from 1 to 100');
      }
      let after = null;
      if (p.cursor !== undefined && p.cursor !== null) {
        if (typeof p.cursor !== 'string' || p.cursor === '') throw invalid('cursor must be a string');
        after = decodeCursor(p.cursor, requesterId);
      }
      requireKnownRequester(store, requesterId);

      const items = [];
      let more = false;
      for (const t of store.forRequester(requesterId)) {
        if (after && newestFirst(after, t) >= 0) continue; // at or before the cursor
        if (statuses && !statuses.has(t.status)) continue;
        if (items.length === limit) {
          more = true;
          break;
        }
        items.push(t);
      }
      const nextCursor = more ? encodeCursor(requesterId, items[items.length - 1]) : null;
      return { items, nextCursor };
    },

    'tickets.create'(params) {
      const p = objectParams(params);
      const requesterId = requireString(p, 'requesterId', { max: 64 });
      const subject = requireString(p, 'subject', { max: 200 });
      const description = requireString(p, 'description', { max: 10000 });
      const priority = p.priority ?? 'normal';
      if (!PRIORITIES.includes(priority)) {
        throw invalid(`priority must be one of ${PRIORITIES.join(', ')}`);
      }
      const channel = p.channel ?? 'email';
      if (!CHANNELS.includes(channel)) throw invalid(`channel must be one of ${CHANNELS.join(', ')}`);
      let clientRequestId;
      if (p.clientRequestId !== undefined && p.clientRequestId !== null) {
        clientRequestId = requireString(p, 'clientRequestId', { max: 255 });
      }
      requireKnownRequester(store, requesterId);
      // A create whose request id was seen returns the ticket made then: a retry after a lost
      // reply must not open a second one.
      const earlier = clientRequestId === undefined ? undefined : store.createdFor(clientRequestId, now());
      if (earlier) return earlier;
      const ticket = store.create({ requesterId, subject, description, priority, channel, clientRequestId }, now());
      onEvent('ticket.created', ticket);
      return ticket;
    },

    // The requester with this email, made when there is none: repeating it is safe (idempotent by email).
    'requesters.ensure'(params) {
      const p = objectParams(params);
      const email = requireString(p, 'email', { max: 254 });
      if (!EMAIL.test(email)) throw invalid('email must be an email address');
      let name;
      if (p.name !== undefined && p.name !== null) name = requireString(p, 'name', { max: 200 });
      const { user, created } = store.ensureUser({ email, name });
      return { requesterId: user.userId, email: user.email, created };
    },

    'tickets.update'(params) {
      const p = objectParams(params);
      const ticketId = requireString(p, 'ticketId', { max: 64 });
      const changes = {};
      if (given(p, 'status')) {
        if (!STATUSES.includes(p.status)) throw invalid(`status must be one of ${STATUSES.join(', ')}`);
        changes.status = p.status;
      }
      if (given(p, 'priority')) {
        if (!PRIORITIES.includes(p.priority)) throw invalid(`priority must be one of ${PRIORITIES.join(', ')}`);
        changes.priority = p.priority;
      }
      if (given(p, 'subject')) changes.subject = requireString(p, 'subject', { max: 200 });
      if (Object.keys(changes).length === 0) {
        throw invalid('at least one of status, priority, subject must be given');
      }
      if (!store.get(ticketId)) throw new RpcError(ERR_TICKET_NOT_FOUND, 'Ticket not found', { ticketId });
      const ticket = store.update(ticketId, changes, now());
      onEvent('ticket.updated', ticket);
      return ticket;
    },
  };
}
