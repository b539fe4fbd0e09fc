import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from './errors.ts';

test("a refusal or a caller's mistake carries no stack frames; a failure does, and the limit is left as it was", () => {
  const limit = Error.stackTraceLimit;
  for (const code of ['RATE_LIMITED', 'CIRCUIT_OPEN', 'VALIDATION_FAILED'] as const) {
    const refusal = new AppError(code, 'no');
    assert.equal(refusal.stack, 'AppError: no', code);
  }
  for (const code of ['INTERNAL', 'UPSTREAM_TIMEOUT', 'CONNECTOR_BAD_DATA'] as const) {
    assert.match(new AppError(code, 'broke').stack ?? '', /\n\s+at /, code);
  }
  assert.equal(Error.stackTraceLimit, limit);
});
