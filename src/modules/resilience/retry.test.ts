import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../kernel/errors.ts';
import { createRetryBudget, isRetryable, retryDelayMs } from './retry.ts';

const options = { baseMs: 100, maxDelayMs: 1000, retryAfterCapMs: 2000 };

test('backs off exponentially with full jitter, capped', () => {
  assert.equal(retryDelayMs(1, new Error('x'), options, () => 0.999), 100);
  assert.equal(retryDelayMs(3, new Error('x'), options, () => 0.999), 400);
  assert.equal(retryDelayMs(10, new Error('x'), options, () => 0.999), 999);
  assert.equal(retryDelayMs(3, new Error('x'), options, () => 0), 0);
});

test("honours the backend's Retry-After, capped", () => {
  const soon = new AppError('UPSTREAM_UNAVAILABLE', 'busy', { retryAfterMs: 1500 });
  const late = new AppError('UPSTREAM_UNAVAILABLE', 'busy', { retryAfterMs: 60_000 });
  assert.equal(retryDelayMs(1, soon, options, () => 0), 1500);
  assert.equal(retryDelayMs(1, late, options, () => 0), 2000);
});

test('retries only failures another try may fix', () => {
  assert.equal(isRetryable(new AppError('UPSTREAM_UNAVAILABLE', 'x')), true);
  assert.equal(isRetryable(new AppError('UPSTREAM_UNAVAILABLE', 'x', { abandoned: true })), false);
  for (const code of ['UPSTREAM_TIMEOUT', 'NOT_FOUND', 'CONNECTOR_BAD_DATA', 'VALIDATION_FAILED', 'CIRCUIT_OPEN'] as const) {
    assert.equal(isRetryable(new AppError(code, 'x')), false, code);
  }
});

test('the retry budget allows a percentage of calls plus a trickle, and no more', () => {
  let now = 0;
  const budget = createRetryBudget({ percent: 20, minPerSec: 1, now: () => now });
  let allowed = 0;
  while (budget.tryWithdraw()) allowed += 1;
  assert.equal(allowed, 10, 'ten seconds of the minimum to start with');
  for (let i = 0; i < 50; i++) budget.deposit();
  allowed = 0;
  while (budget.tryWithdraw()) allowed += 1;
  assert.equal(allowed, 10, '20% of 50 calls');
  now += 3_000;
  allowed = 0;
  while (budget.tryWithdraw()) allowed += 1;
  assert.equal(allowed, 3, 'one per second trickles back');
  assert.ok(budget.exhausted >= 3);
});
