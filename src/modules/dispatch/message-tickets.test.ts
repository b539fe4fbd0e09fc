import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageSubject, messageTicketJobId } from './message-tickets.ts';

test("a message's job id is fixed by the conversation and the seq it was left at: the same id for a repeat, another for a message left after a reopen, a fit job id whatever the conversation id", () => {
  const id = '3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b';
  assert.equal(messageTicketJobId(id, 4), `mt_${id}_4`);
  assert.equal(messageTicketJobId(id, 4), messageTicketJobId(id, 4));
  assert.notEqual(messageTicketJobId(id, 4), messageTicketJobId(id, 9));
  const odd = messageTicketJobId('tenant:conversation/1', 4);
  assert.match(odd, /^mt_[0-9a-f]{40}_4$/);
  assert.notEqual(odd, messageTicketJobId('tenant:conversation/2', 4));
});

test("a message's ticket subject names the conversation's topic, else its subject, within the ticket system's 200 characters", () => {
  assert.equal(messageSubject({}), 'Chat message');
  assert.equal(messageSubject({ subject: 'Where is my parcel?' }), 'Chat message: Where is my parcel?');
  assert.equal(messageSubject({ subject: 'Where is my parcel?', topic: 'orders' }), 'Chat message: orders');
  assert.equal(messageSubject({ topic: '  ' }), 'Chat message');
  assert.equal(messageSubject({ subject: 'x'.repeat(500) }).length, 200);
});
