import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isOpenTicket, OPEN_TICKET_STATUSES } from './context.service.ts';

test('the context asks for open tickets and for `other`, a status the source has that maps to no canonical one', () => {
  assert.deepEqual(OPEN_TICKET_STATUSES, ['new', 'open', 'pending', 'other']);
});

test('a ticket in status `other` is open unless its connector says the source closed it; solved and closed never are', () => {
  assert.equal(isOpenTicket({ status: 'other', sourceStatus: 'escalated', isOpen: true }), true);
  assert.equal(isOpenTicket({ status: 'other', sourceStatus: 'escalated' }), true, 'isOpen not said: not known to be closed');
  assert.equal(isOpenTicket({ status: 'other', sourceStatus: 'archived', isOpen: false }), false);
  assert.equal(isOpenTicket({ status: 'pending', isOpen: true }), true);
  assert.equal(isOpenTicket({ status: 'solved', isOpen: false }), false);
});
