// The tickets sample backend's client request id, without a server: its methods over a store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
// @ts-expect-error: the sample backend is plain JavaScript without type declarations.
import { createMethods } from '../../backends/tickets-node/methods.mjs';
// @ts-expect-error: as above.
import { TicketStore } from '../../backends/tickets-node/store.mjs';

const RETENTION_MS = 60_000;

function backend() {
  const store = new TicketStore({ users: [{ userId: 'u_1' }], tickets: [] }, { requestIdRetentionMs: RETENTION_MS });
  let now = 1_000_000;
  const events: string[] = [];
  const methods = createMethods(store, () => now, (type: string, ticket: { ticketId: string }) => events.push(`${type} ${ticket.ticketId}`));
  const create = (params: Record<string, unknown>) => methods['tickets.create']({ requesterId: 'u_1', subject: 's', description: 'd', ...params }) as { ticketId: string };
  return { store, events, create, advance: (ms: number) => (now += ms) };
}

test('a create with a request id it has seen returns the ticket it made then, and creates nothing', () => {
  const { store, events, create } = backend();
  const first = create({ clientRequestId: 'req-1' });
  const again = create({ clientRequestId: 'req-1', subject: 'other' });
  assert.equal(again.ticketId, first.ticketId);
  assert.equal(store.size, 1);
  assert.deepEqual(events, [`ticket.created ${first.ticketId}`]);
  assert.notEqual(create({ clientRequestId: 'req-2' }).ticketId, first.ticketId);
  assert.notEqual(create({}).ticketId, create({}).ticketId, 'without a request id every create is new');
});

test('a request id is forgotten after the retention: the same id then opens a new ticket', () => {
  const { store, create, advance } = backend();
  const first = create({ clientRequestId: 'req-1' });
  advance(RETENTION_MS - 1);
  assert.equal(create({ clientRequestId: 'req-1' }).ticketId, first.ticketId);
  advance(1);
  assert.notEqual(create({ clientRequestId: 'req-1' }).ticketId, first.ticketId);
  assert.equal(store.size, 2);
});

test('a request id that is not a non-blank string is refused as invalid params', () => {
  const { create } = backend();
  assert.throws(() => create({ clientRequestId: 42 }), { code: -32602 });
  assert.throws(() => create({ clientRequestId: ' ' }), { code: -32602 });
});
