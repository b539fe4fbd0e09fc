import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSchemaRegistry, isEmail } from './schemas.ts';

const schemas = createSchemaRegistry(new URL('../../schemas', import.meta.url).pathname);
const valid = (entity: string, value: unknown): boolean => schemas.validatorFor(entity)(value) === true;

const TICKET = {
  id: 'T-1', requesterRef: 'r1', subject: 's', description: 'd', status: 'open', isOpen: true,
  priority: 'normal', channel: 'chat', tags: [], createdAt: '2026-12-02T10:00:00Z', updatedAt: '2026-12-02T10:00:00Z',
};

test('a customer needs only an id and a display name: nothing else has to be invented', () => {
  assert.equal(valid('Customer', { id: 'owner-6', displayName: 'George Franklin' }), true);
  assert.equal(valid('Customer', { id: 'owner-6' }), false);
  assert.equal(valid('Customer', { displayName: 'George Franklin' }), false);
});

test('canonical ids are opaque: numbers, UUIDs, prefixed keys and handles are all ids', () => {
  for (const id of ['42', '0f8fad5b-d9cb-469f-a165-70867728950e', 'cus_7f3a9b', 'owner:6', 'ann@example']) {
    assert.equal(valid('Customer', { id, displayName: 'x' }), true, id);
  }
  assert.equal(valid('Ticket', { ...TICKET, id: 'zd:000123' }), true);
});

test('every canonical entity keeps source-specific fields under `attributes`, bounded', () => {
  const attributes = { petCount: 2, city: 'Madison', visits: [{ at: '2026-01-01' }], vip: null };
  assert.equal(valid('Customer', { id: '6', displayName: 'x', attributes }), true);
  assert.equal(valid('Ticket', { ...TICKET, attributes }), true);
  assert.equal(valid('Product', { sku: 'S', name: 'n', price: { amount: '1.00', currency: 'EUR' }, attributes }), true);
  assert.equal(valid('Requester', { id: 'r', email: 'a@example.com', created: false, attributes }), true);
  assert.equal(valid('Customer', { id: '6', displayName: 'x', attributes: 'city=Madison' }), false);
  const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
  assert.equal(valid('Customer', { id: '6', displayName: 'x', attributes: tooMany }), false);
  assert.equal(valid('Customer', { id: '6', displayName: 'x', attributes: { ['k'.repeat(65)]: 1 } }), false);
  assert.equal(valid('Customer', { id: '6', displayName: 'x', petCount: 2 }), false, 'unknown fields go under attributes, not beside them');
});

test('a ticket status or channel the model has no name for is `other`, with what the source said', () => {
  assert.equal(valid('Ticket', { ...TICKET, status: 'other', sourceStatus: 'on-hold', channel: 'other', sourceChannel: 'whatsapp' }), true);
  assert.equal(valid('Ticket', { ...TICKET, status: 'on-hold' }), false);
  assert.equal(valid('Ticket', { ...TICKET, channel: 'whatsapp' }), false);
});

test('isEmail takes exactly the emails the Requester schema takes, up to 254 characters', () => {
  const requester = (email: string): boolean => valid('Requester', { id: 'r1', email, created: false });
  const long = `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.example.com`;
  for (const email of ['ann@example.com', 'Ann.Lee+chat@mail.example.org', 'a@b', 'jörg@example.de', 'two..dots@example.org', '\u0007@example.com', 'x @example.com', long]) {
    assert.equal(isEmail(email), requester(email) && email.length <= 254, email);
  }
  assert.equal(isEmail('ann@example.com'), true);
  assert.equal(isEmail('jörg@example.de'), false);
  assert.ok(long.length > 254 && requester(long) && !isEmail(long));
});
