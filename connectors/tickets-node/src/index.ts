import { defineConnector, hmacAuth, NotFoundError, type Connector } from 'omnigate/sdk';
import { configSchema, type TicketsConfig } from './config.ts';
import { createTicket } from './operations/create-ticket.ts';
import { ensureRequester } from './operations/ensure-requester.ts';
import { getTicket } from './operations/get-ticket.ts';
import { listTickets } from './operations/list-tickets.ts';
import { createRpc } from './rpc.ts';
import { toTicketEvents } from './events/to-ticket-event.ts';

/** The records a ticket names, for lineage: the ticket and its requester (the customer's id in the tickets system). */
const TICKET_KEYS = [
  { type: 'ticket', path: 'id' },
  { type: 'requester', path: 'requesterRef' },
] as const;

/** The canonical statuses a ticket.list may filter on (`other`: a status with no canonical name). */
const STATUS = { type: 'string', enum: ['new', 'open', 'pending', 'solved', 'closed', 'other'] } as const;

/** Options of the tickets connector; the gateway loads it with none (the default export). */
export interface TicketsConnectorOptions {
  /** Makes JSON-RPC request ids; random UUIDs by default. Contract tests pass fixed ones. */
  readonly newRequestId?: () => string;
}

export function createTicketsConnector(options: TicketsConnectorOptions = {}): Connector<TicketsConfig> {
  const rpc = createRpc(options.newRequestId);
  return defineConnector<TicketsConfig>({
    manifest: {
      name: 'tickets-node',
      version: '1.0.0',
      system: 'tickets',
      description: 'Support tickets from the Node tickets service (JSON-RPC 2.0, HMAC-signed requests).',
      configSchema,
      capabilities: [
        {
          name: 'ticket.get',
          kind: 'query',
          description: 'One ticket by its id.',
          params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1 } } },
          result: 'Ticket',
          businessKeys: TICKET_KEYS,
        },
        {
          name: 'ticket.list',
          kind: 'query',
          description: "A customer's tickets, newest first, by the customer's id in the tickets system.",
          params: {
            type: 'object',
            required: ['requesterRef'],
            additionalProperties: false,
            properties: {
              requesterRef: { type: 'string', minLength: 1 },
              status: { type: 'array', items: STATUS, minItems: 1, uniqueItems: true },
              pageSize: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
              cursor: { type: 'string', minLength: 1 },
            },
          },
          result: 'Page<Ticket>',
          businessKeys: TICKET_KEYS,
        },
        {
          name: 'ticket.create',
          kind: 'command',
          description: 'Opens a ticket for a customer (by their id in the tickets system); with idempotencyKey, once.',
          params: {
            type: 'object',
            required: ['requesterRef', 'subject', 'description'],
            additionalProperties: false,
            properties: {
              requesterRef: { type: 'string', minLength: 1 },
              // Not blank: the backend refuses a subject or description of only spaces.
              subject: { type: 'string', maxLength: 200, pattern: '\\S' },
              description: { type: 'string', maxLength: 10000, pattern: '\\S' },
              priority: { type: 'string', enum: ['low', 'normal', 'high', 'urgent'] },
              // Where the request came in (a message left in the chat is `chat`); the backend's default is email.
              channel: { type: 'string', enum: ['email', 'chat', 'phone'] },
              // The gateway's idempotency token: the backend's client request id makes a repeat safe.
              idempotencyKey: { type: 'string', minLength: 1, maxLength: 255 },
            },
          },
          result: 'Ticket',
          businessKeys: TICKET_KEYS,
        },
        {
          name: 'requester.ensure',
          kind: 'command',
          description: 'The requester with this email (case-insensitive), made when there is none; safe to repeat (idempotent by email).',
          params: {
            type: 'object',
            required: ['email'],
            additionalProperties: false,
            properties: {
              // As the backend checks it (one @, no spaces, a dot in the domain) and as the
              // Requester schema checks the echo (`format: email`): what passes only the first
              // would be written, then refused on its way back.
              email: { type: 'string', maxLength: 254, format: 'email', pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$' },
              name: { type: 'string', maxLength: 200, pattern: '\\S' },
            },
          },
          result: 'Requester',
          businessKeys: [{ type: 'requester', path: 'id' }],
        },
      ],
      proxy: { allow: [{ methods: ['POST'], path: '/rpc', rpcMethods: ['tickets.get', 'tickets.search'] }] },
      events: { types: ['ticket.created', 'ticket.updated'] },
    },

    async webhook(delivery, { config }) {
      return toTicketEvents(delivery, config);
    },

    async auth({ config }) {
      return hmacAuth({ secret: config.hmacSecret });
    },

    queries: { 'ticket.get': getTicket(rpc), 'ticket.list': listTickets(rpc) },
    commands: { 'ticket.create': createTicket(rpc), 'requester.ensure': ensureRequester(rpc) },

    async health(ctx) {
      // A signed call proves the secret too: "not found" is the healthy answer.
      try {
        await rpc.call(ctx, 'tickets.get', { ticketId: 'TCK-HEALTH-PROBE' });
        return { ok: true };
      } catch (err) {
        return err instanceof NotFoundError ? { ok: true } : { ok: false, detail: (err as Error).message };
      }
    },
  });
}

export default createTicketsConnector();
