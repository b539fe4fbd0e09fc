import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../kernel/errors.ts';
import { jobBackoff, MAX_JOB_BACKOFF_MS, parseJobFailure, toJobFailure } from './job-failure.ts';

test('a retryable code leaves the job to its backoff, keeping the wait it asked for', () => {
  const failure = toJobFailure(new AppError('CIRCUIT_OPEN', 'paused', { retryAfterMs: 1500 }));
  assert.equal(failure.isFinal, false);
  assert.equal(failure.retryAfterMs, 1500);
  assert.deepEqual(parseJobFailure(failure.message), { code: 'CIRCUIT_OPEN', detail: 'paused' });
});

test('a final code and an unknown error fail the job at once', () => {
  assert.equal(toJobFailure(new AppError('NOT_FOUND', 'no customer 9')).isFinal, true);
  const unknown = toJobFailure(new TypeError('boom'));
  assert.equal(unknown.isFinal, true);
  assert.equal(parseJobFailure(unknown.message).code, 'INTERNAL');
});

test('a reason BullMQ wrote itself reads as INTERNAL with the reason as detail', () => {
  assert.deepEqual(parseJobFailure('job stalled more than allowable limit'), { code: 'INTERNAL', detail: 'job stalled more than allowable limit' });
  assert.deepEqual(parseJobFailure('NOT_A_CODE: x'), { code: 'INTERNAL', detail: 'NOT_A_CODE: x' });
});

test('backoff doubles per attempt between half and all of the ceiling, and is capped', () => {
  assert.equal(jobBackoff(1, 500, undefined, () => 0), 250);
  assert.equal(jobBackoff(1, 500, undefined, () => 1), 500);
  assert.equal(jobBackoff(4, 500, undefined, () => 1), 4000);
  assert.equal(jobBackoff(30, 500, undefined, () => 1), MAX_JOB_BACKOFF_MS);
  assert.equal(jobBackoff(1, 500, 3000, () => 0), 3000, 'Retry-After wins when longer');
  assert.equal(jobBackoff(1, 500, 10 * MAX_JOB_BACKOFF_MS, () => 0), MAX_JOB_BACKOFF_MS);
});
