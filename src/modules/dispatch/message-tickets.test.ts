import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageSubject, messageTicketJobId } from './message-tickets.ts';

test("a conversation's message job id is fixed by the conversation: the same id every time, a fit job id whatever the conversation id", () => {
  const id = '3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b';
  assert.equal(messageTicketJobId(id), `mt_${id}`);
  assert.equal(messageTicketJobId(id), messageTicketJobId(id));
  const odd = messageTicketJobId('tenant:conversation/1');
  assert.match(odd, /^mt_[0-9a-f]{40}$/);
  assert.notEqual(odd, messageTicketJobId('tenant:conversation/2'));
});

test("a message's ticket subject names the conversation's topic, else its subject, within the ticket system's 200 characters", () => {
  assert.equal(messageSubject({}), 'Chat message');
  assert.equal(messageSubject({ subject: 'Where is my parcel?' }), 'Chat message: Where is my parcel?');
  assert.equal(messageSubject({ subject: 'Where is my parcel?', topic: 'orders' }), 'Chat message: orders');
  assert.equal(messageSubject({ topic: '  ' }), 'Chat message');
  assert.equal(messageSubject({ subject: 'x'.repeat(500) }).length, 200);
});
