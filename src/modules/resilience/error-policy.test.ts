import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryRateLimiter } from '../../adapters/memory/memory-rate-limiter.ts';
import { AppError, ERROR_CATALOGUE, isOutcomeUnknown, type ErrorCode } from '../../kernel/errors.ts';
import { createLogger } from '../../kernel/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createResiliencePipeline } from './pipeline.ts';
import { resolveResilienceSettings } from './settings.ts';
import { createAjv } from '../../kernel/schemas.ts';

const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];
const log = createLogger({ level: 'silent' });

test('a failure opens the breaker exactly when its code is marked breaker in the catalogue', async () => {
  const pipeline = createResiliencePipeline({ log, metrics: createMetrics(), limiter: createMemoryRateLimiter() });
  const base = resolveResilienceSettings(createAjv({ coerceTypes: true, useDefaults: true }), 'c', {}, 1_000).settings;
  // One failure in the window is enough to open it.
  const settings = { ...base, volumeThreshold: 1, errorThresholdPercentage: 1, retries: 0 };
  for (const code of codes) {
    const connector = `c-${code.toLowerCase()}`;
    await assert.rejects(
      pipeline.execute({ connector, capability: 'x.get', kind: 'query', settings, log, run: async () => Promise.reject(new AppError(code, 'failed')) }),
      (err: unknown) => err instanceof AppError && err.code === code,
    );
    const state = pipeline.view(connector)?.breakers[0]?.state;
    assert.equal(state === 'open', ERROR_CATALOGUE[code].breaker, `${code}: breaker ${state}`);
    pipeline.forget(connector);
  }
});

test('a write is left with an unknown outcome exactly when its code is marked so, or it was abandoned', () => {
  for (const code of codes) {
    assert.equal(isOutcomeUnknown(new AppError(code, 'failed')), ERROR_CATALOGUE[code].outcomeUnknown, code);
    assert.equal(isOutcomeUnknown(new AppError(code, 'failed', { abandoned: true })), true, code);
  }
});
