// In-memory ticket store, loaded from $OMNIGATE_SEED_DIR/tickets.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

export const STATUSES = ['new', 'open', 'pending', 'solved', 'closed'];
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
export const CHANNELS = ['email', 'chat', 'phone'];

const ID_PREFIX = 'TCK-';
const FIRST_ID = 100001;
/** How long a create's client request id is remembered (a repeat within it gets the same ticket). */
export const DEFAULT_REQUEST_ID_RETENTION_MS = 24 * 60 * 60 * 1000;

function idNumber(ticketId) {
  const m = /^TCK-(\d+)$/.exec(ticketId);
  return m ? Number(m[1]) : -1;
}

/** Newest first: createdAt descending, then ticket number descending. */
export function newestFirst(a, b) {
  return b.createdAt - a.createdAt || idNumber(b.ticketId) - idNumber(a.ticketId);
}

export class TicketStore {
  constructor({ users, tickets }, { requestIdRetentionMs = DEFAULT_REQUEST_ID_RETENTION_MS } = {}) {
    if (!Array.isArray(users) || !Array.isArray(tickets)) {
      throw new Error('tickets.json must be {"users": [...], "tickets": [...]}');
    }
    this.users = new Map(users.map((u) => [u.userId, u]));
    this.byEmail = new Map(); // lower-cased email -> user (the first one, if the seed had two)
    for (const u of users) {
      if (typeof u?.email === 'string' && !this.byEmail.has(u.email.toLowerCase())) this.byEmail.set(u.email.toLowerCase(), u);
    }
    this.byId = new Map();
    this.byRequester = new Map(); // requesterId -> tickets, newest first
    let maxId = FIRST_ID - 1;
    for (const t of tickets) {
      if (typeof t?.ticketId !== 'string' || typeof t.requesterId !== 'string') {
        throw new Error(`malformed ticket in seed: ${JSON.stringify(t)}`);
      }
      this.byId.set(t.ticketId, t);
      this.#listFor(t.requesterId).push(t);
      maxId = Math.max(maxId, idNumber(t.ticketId));
    }
    for (const list of this.byRequester.values()) list.sort(newestFirst);
    this.nextId = maxId + 1;
    this.requestIdRetentionMs = requestIdRetentionMs;
    this.byRequestId = new Map(); // clientRequestId -> { ticketId, at }, oldest first
  }

  /** The ticket a create with this client request id made within the retention, if any. */
  createdFor(clientRequestId, now = Date.now()) {
    this.#forgetRequestIds(now);
    const seen = this.byRequestId.get(clientRequestId);
    return seen && this.byId.get(seen.ticketId);
  }

  // Insertion order is creation order, so the expired ids are at the front.
  #forgetRequestIds(now) {
    for (const [id, seen] of this.byRequestId) {
      if (now - seen.at < this.requestIdRetentionMs) break;
      this.byRequestId.delete(id);
    }
  }

  #listFor(requesterId) {
    let list = this.byRequester.get(requesterId);
    if (!list) {
      list = [];
      this.byRequester.set(requesterId, list);
    }
    return list;
  }

  hasUser(userId) {
    return this.users.has(userId);
  }

  get usersCount() {
    return this.users.size;
  }

  /**
   * The requester with this email (case-insensitive), made when there is none: `{ user, created }`.
   * A new id is `u_` + 8 hex digits of the email's hash, so the same email gets the same id after a
   * restart too (memory only); on a clash with another user the hash is taken again with a counter.
   */
  ensureUser({ email, name }) {
    const key = email.toLowerCase();
    const known = this.byEmail.get(key);
    if (known) return { user: known, created: false };
    let userId;
    for (let n = 0; userId === undefined || this.users.has(userId); n++) {
      userId = `u_${createHash('sha256').update(n === 0 ? key : `${key}#${n}`).digest('hex').slice(0, 8)}`;
    }
    const user = { userId, displayName: name ?? email.slice(0, email.indexOf('@')), email };
    this.users.set(userId, user);
    this.byEmail.set(key, user);
    return { user, created: true };
  }

  get(ticketId) {
    return this.byId.get(ticketId);
  }

  /** The requester's tickets, newest first (do not mutate). */
  forRequester(requesterId) {
    return this.byRequester.get(requesterId) ?? [];
  }

  get size() {
    return this.byId.size;
  }

  /** Any few tickets, for fabricating replies (garbage fault). */
  sample(n) {
    const out = [];
    for (const t of this.byId.values()) {
      if (out.length >= n) break;
      out.push(t);
    }
    return out;
  }

  /** A new ticket; with `clientRequestId`, remembered for the retention (see `createdFor`). */
  create({ requesterId, subject, description, priority, channel = 'email', clientRequestId }, now = Date.now()) {
    const ticket = {
      ticketId: `${ID_PREFIX}${this.nextId++}`,
      requesterId,
      subject,
      description,
      status: 'new',
      priority,
      channel,
      tags: [],
      createdAt: now,
      updatedAt: now,
    };
    this.byId.set(ticket.ticketId, ticket);
    const list = this.#listFor(requesterId);
    let i = 0; // keep newest-first order (a new ticket normally goes first)
    while (i < list.length && newestFirst(list[i], ticket) < 0) i++;
    list.splice(i, 0, ticket);
    if (clientRequestId !== undefined) this.byRequestId.set(clientRequestId, { ticketId: ticket.ticketId, at: now });
    return ticket;
  }

  /**
   * Applies { status?, priority?, subject? } to a known ticket, in place. updatedAt becomes now,
   * but always moves forward (at least 1 ms past the previous value), so every change is visible.
   */
  update(ticketId, changes, now = Date.now()) {
    const ticket = this.byId.get(ticketId);
    if (!ticket) return undefined;
    for (const key of ['status', 'priority', 'subject']) {
      if (changes[key] !== undefined) ticket[key] = changes[key];
    }
    ticket.updatedAt = Math.max(now, ticket.updatedAt + 1);
    return ticket;
  }
}

export function loadStore(seedDir, options) {
  const file = join(seedDir, 'tickets.json');
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file} (${err.code ?? err.message}); run "node scripts/seed.mjs" first`);
  }
  return new TicketStore(JSON.parse(text), options);
}
