import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sourceStatuses } from './list-tickets.ts';

test('a canonical status filter asks the tickets service for the same names; `other` names none of its statuses', () => {
  assert.deepEqual(sourceStatuses(['new', 'open', 'pending', 'other']), ['new', 'open', 'pending']);
  assert.deepEqual(sourceStatuses(['other']), [], 'only `other`: nothing of this service can match');
  assert.equal(sourceStatuses(undefined), undefined, 'no filter');
});
