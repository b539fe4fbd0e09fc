// The tickets sample backend's requesters.ensure, without a server: its methods over a store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
// @ts-expect-error: the sample backend is plain JavaScript without type declarations.
import { createMethods } from '../../backends/tickets-node/methods.mjs';
// @ts-expect-error: as above.
import { TicketStore } from '../../backends/tickets-node/store.mjs';

interface Ensured {
  readonly requesterId: string;
  readonly email: string;
  readonly created: boolean;
}
type Method = (params: unknown) => unknown;

function backend() {
  const store = new TicketStore({ users: [{ userId: 'u_0000abcd', displayName: 'Ada Seed', email: 'Ada.Seed@example.com' }], tickets: [] });
  const methods = createMethods(store, () => 1_000_000) as Record<string, Method>;
  const ensure = (params: unknown) => methods['requesters.ensure']!(params) as Ensured;
  const create = (params: Record<string, unknown>) => methods['tickets.create']!({ subject: 's', description: 'd', ...params }) as { ticketId: string; requesterId: string; channel: string };
  return { store, ensure, create };
}

test('requesters.ensure matches a known requester by email, whatever its case, and creates nothing', () => {
  const { store, ensure } = backend();
  assert.deepEqual(ensure({ email: 'ada.seed@EXAMPLE.com' }), { requesterId: 'u_0000abcd', email: 'Ada.Seed@example.com', created: false });
  assert.equal(store.usersCount, 1);
});

test('requesters.ensure creates an unknown email once: a repeat, in any case, answers the same requester', () => {
  const { store, ensure, create } = backend();
  const first = ensure({ email: 'New.Visitor@example.org', name: 'New Visitor' });
  assert.match(first.requesterId, /^u_[0-9a-f]{8}$/);
  assert.deepEqual(first, { requesterId: first.requesterId, email: 'New.Visitor@example.org', created: true });
  assert.deepEqual(ensure({ email: 'new.visitor@example.org' }), { ...first, created: false });
  assert.equal(store.usersCount, 2);
  // The new requester is known to the ticket methods at once (they refused it with -32005 before).
  assert.equal(create({ requesterId: first.requesterId }).requesterId, first.requesterId);
});

test('a new requester id depends only on the email: another store (a restarted backend) makes the same one', () => {
  assert.equal(backend().ensure({ email: 'same@example.org' }).requesterId, backend().ensure({ email: 'SAME@example.org' }).requesterId);
});

test('requesters.ensure refuses a missing or malformed email and a blank name as invalid params, and creates nothing', () => {
  const { store, ensure } = backend();
  for (const params of [{}, { email: 42 }, { email: '' }, { email: 'no-at-sign' }, { email: 'two@@example.org' }, { email: 'a b@example.org' }, { email: 'x@localhost' }, { email: `${'a'.repeat(250)}@example.org` }, { email: 'ok@example.org', name: ' ' }, { email: 'ok@example.org', name: 7 }, ['ok@example.org']]) {
    assert.throws(() => ensure(params), { code: -32602 }, JSON.stringify(params));
  }
  assert.equal(store.usersCount, 1);
});

test('tickets.create takes a channel (email by default) and refuses one it does not know', () => {
  const { create } = backend();
  assert.equal(create({ requesterId: 'u_0000abcd' }).channel, 'email');
  assert.equal(create({ requesterId: 'u_0000abcd', channel: 'chat' }).channel, 'chat');
  assert.throws(() => create({ requesterId: 'u_0000abcd', channel: 'fax' }), { code: -32602 });
});
