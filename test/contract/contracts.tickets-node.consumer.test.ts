// Consumer side of contracts/tickets-node-tickets.json: the tickets connector's real operations,
// run against a Pact mock server that answers as the contract says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MatchersV3 as m } from '@pact-foundation/pact';
import { InvalidRequestError, NotFoundError, type Connector, type ConnectorContext } from 'omnigate/sdk';
import { createTicketsConnector } from '../../connectors/tickets-node/src/index.ts';
import type { TicketsConfig } from '../../connectors/tickets-node/src/config.ts';
import { repoContract, schemas } from './support/contract-consumer.ts';

const contract = await repoContract('tickets-node', 'tickets');

const JSON_HEADERS = { 'Content-Type': m.regex('^application/json(;.*)?$', 'application/json') };
// Signed with a placeholder secret: the provider verification signs each replay afresh.
const SIGNED = {
  Accept: 'application/json',
  'Content-Type': 'application/json',
  'X-Timestamp': m.regex('^\\d{13}$', '1732891414720'),
  'X-Signature': m.regex('^sha256=[0-9a-f]{64}$', `sha256=${'0'.repeat(64)}`),
};

const TICKET = {
  ticketId: m.regex('^TCK-\\d+$', 'TCK-100001'),
  requesterId: m.string('u_675aedf3'),
  subject: m.string('Refund not received'),
  description: m.string('Customer Noah wrote in about: refund not received'),
  status: m.regex('^(new|open|pending|solved|closed)$', 'closed'),
  priority: m.regex('^(low|normal|high|urgent)$', 'high'),
  channel: m.regex('^(email|chat|phone|web)$', 'phone'),
  tags: m.atLeastLike(m.string('refund'), 0, 1),
  createdAt: m.integer(1732891414720),
  updatedAt: m.integer(1733000325205),
};

interface RpcInteraction {
  /** The JSON-RPC id the connector is made to send, and the reply echoes. */
  readonly id: string;
  readonly state: string;
  readonly stateParams: Record<string, string>;
  readonly description: string;
  readonly method: string;
  readonly params: Record<string, unknown>;
  /** `{result}` or `{error}` of the reply. */
  readonly reply: Record<string, unknown>;
}

/**
 * Records one JSON-RPC exchange and runs `work` against it. The connector makes a random id per
 * call and checks that the reply echoes it; a recorded reply cannot echo, so the connector is
 * given this interaction's fixed id (the provider echoes whatever it is sent: the
 * verification sends this one).
 */
async function rpc(interaction: RpcInteraction, work: (tickets: Connector<TicketsConfig>, ctx: ConnectorContext<TicketsConfig>) => Promise<void>): Promise<void> {
  const { id, method, params } = interaction;
  contract.pact
    .given(interaction.state, interaction.stateParams)
    .uponReceiving(interaction.description)
    .withRequest({ method: 'POST', path: '/rpc', headers: SIGNED, body: { jsonrpc: '2.0', id: m.uuid(id), method, params } })
    .willRespondWith({ status: 200, headers: JSON_HEADERS, body: { jsonrpc: '2.0', id, ...interaction.reply } });
  const tickets = createTicketsConnector({ newRequestId: () => id });
  await contract.execute(tickets, (baseUrl) => ({ baseUrl, hmacSecret: 'contract-secret', webhookToleranceMs: 300_000 }), (ctx) => work(tickets, ctx));
}

test('ticket.get maps a recorded JSON-RPC ticket to a schema-valid canonical Ticket', async () => {
  await rpc(
    {
      id: '00000000-0000-4000-8000-000000000001',
      state: 'a ticket exists',
      stateParams: { ticketId: 'TCK-100001' },
      description: 'a tickets.get call',
      method: 'tickets.get',
      params: { ticketId: 'TCK-100001' },
      reply: { result: TICKET },
    },
    async (tickets, ctx) => {
      const ticket = (await tickets.query('ticket.get', { id: 'TCK-100001' }, ctx)) as Record<string, unknown>;
      assert.equal(schemas.validatorFor('Ticket')(ticket), true);
      assert.deepEqual([ticket.id, ticket.status, ticket.isOpen], ['TCK-100001', 'closed', false]);
      assert.equal(ticket.createdAt, '2024-11-29T14:43:34.720Z');
    },
  );
});

test('ticket.get reports JSON-RPC error -32004 as NOT_FOUND', async () => {
  await rpc(
    {
      id: '00000000-0000-4000-8000-000000000002',
      state: 'no ticket exists',
      stateParams: { ticketId: 'TCK-999999' },
      description: 'a tickets.get call for an unknown ticket',
      method: 'tickets.get',
      params: { ticketId: 'TCK-999999' },
      reply: { error: { code: -32004, message: m.string('ticket not found') } },
    },
    async (tickets, ctx) => {
      await assert.rejects(tickets.query('ticket.get', { id: 'TCK-999999' }, ctx), NotFoundError);
    },
  );
});

test('ticket.list maps a recorded tickets.search page to a canonical cursor page', async () => {
  await rpc(
    {
      id: '00000000-0000-4000-8000-000000000003',
      state: 'a requester has tickets',
      stateParams: { requesterId: 'u_f42b2537' },
      description: "a tickets.search call for a requester's tickets, two at a time",
      method: 'tickets.search',
      params: { requesterId: 'u_f42b2537', limit: 2 },
      reply: { result: { items: m.eachLike(TICKET), nextCursor: m.string('eyJjIjoxNzMyODkxNDE0NzIwfQ') } },
    },
    async (tickets, ctx) => {
      const page = (await tickets.query('ticket.list', { requesterRef: 'u_f42b2537', pageSize: 2 }, ctx)) as { page: unknown };
      assert.equal(schemas.validatorFor('Page<Ticket>')(page), true);
      assert.deepEqual(page.page, { size: 2, hasMore: true, nextCursor: 'eyJjIjoxNzMyODkxNDE0NzIwfQ' });
    },
  );
});

test('ticket.create maps the recorded new ticket to a schema-valid canonical Ticket', async () => {
  const fields = { subject: 'Contract check', description: 'Opened by the contract verification.', priority: 'low' };
  await rpc(
    {
      id: '00000000-0000-4000-8000-000000000004',
      state: 'a requester exists',
      stateParams: { requesterId: 'u_f42b2537' },
      description: 'a tickets.create call',
      method: 'tickets.create',
      params: { requesterId: 'u_f42b2537', ...fields },
      reply: { result: { ...TICKET, requesterId: 'u_f42b2537', subject: fields.subject, description: fields.description, status: m.regex('^(new|open)$', 'new'), priority: 'low' } },
    },
    async (tickets, ctx) => {
      const ticket = (await tickets.execute('ticket.create', { requesterRef: 'u_f42b2537', ...fields }, ctx)) as Record<string, unknown>;
      assert.equal(schemas.validatorFor('Ticket')(ticket), true);
      assert.deepEqual([ticket.requesterRef, ticket.subject, ticket.isOpen], ['u_f42b2537', 'Contract check', true]);
    },
  );
});

test('ticket.create with an idempotencyKey sends it as the client request id', async () => {
  const fields = { subject: 'Contract check, once', description: 'Opened once by the contract verification, whatever the repeats.', priority: 'low' };
  const clientRequestId = 'tc_contract_0000000000000000000000000000001';
  await rpc(
    {
      id: '00000000-0000-4000-8000-000000000005',
      state: 'a requester exists',
      stateParams: { requesterId: 'u_f42b2537' },
      description: 'a tickets.create call with a client request id',
      method: 'tickets.create',
      params: { requesterId: 'u_f42b2537', ...fields, clientRequestId },
      reply: { result: { ...TICKET, requesterId: 'u_f42b2537', subject: fields.subject, description: fields.description, status: m.regex('^(new|open)$', 'new'), priority: 'low' } },
    },
    async (tickets, ctx) => {
      const ticket = (await tickets.execute('ticket.create', { requesterRef: 'u_f42b2537', ...fields, idempotencyKey: clientRequestId }, ctx)) as Record<string, unknown>;
      assert.equal(schemas.validatorFor('Ticket')(ticket), true);
      assert.equal(ticket.subject, fields.subject);
    },
  );
});

test('requester.ensure maps the recorded requester matched by email to a schema-valid canonical Requester', async () => {
  await rpc(
    {
      id: '00000000-0000-4000-8000-000000000006',
      state: 'a requester has an email',
      stateParams: { requesterId: 'u_f42b2537', email: 'quinn.martin.42@example.com' },
      description: 'a requesters.ensure call for an email the tickets service knows, in another case',
      method: 'requesters.ensure',
      params: { email: 'Quinn.Martin.42@example.com' },
      reply: { result: { requesterId: 'u_f42b2537', email: m.string('quinn.martin.42@example.com'), created: false } },
    },
    async (tickets, ctx) => {
      const requester = (await tickets.execute('requester.ensure', { email: 'Quinn.Martin.42@example.com' }, ctx)) as Record<string, unknown>;
      assert.equal(schemas.validatorFor('Requester')(requester), true);
      assert.deepEqual(requester, { id: 'u_f42b2537', email: 'quinn.martin.42@example.com', created: false });
    },
  );
});

test('requester.ensure reports JSON-RPC error -32602 as a refused request', async () => {
  await rpc(
    {
      id: '00000000-0000-4000-8000-000000000007',
      state: 'a requester exists',
      stateParams: { requesterId: 'u_f42b2537' },
      description: 'a requesters.ensure call with a name of only spaces',
      method: 'requesters.ensure',
      params: { email: 'quinn.martin.42@example.com', name: '   ' },
      reply: { error: { code: -32602, message: m.string('Invalid params'), data: { reason: m.string('name must not be empty') } } },
    },
    async (tickets, ctx) => {
      await assert.rejects(tickets.execute('requester.ensure', { email: 'quinn.martin.42@example.com', name: '   ' }, ctx), InvalidRequestError);
    },
  );
});

test('the recorded contract is the committed contracts/tickets-node-tickets.json', () => contract.settle());
