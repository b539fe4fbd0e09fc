import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { waitFor } from '../../../test/support/wait.ts';
import { createMemoryRateLimiter } from '../../adapters/memory/memory-rate-limiter.ts';
import { createMemorySharedBreakerStore } from '../../adapters/memory/memory-shared-breaker-store.ts';
import { AppError, isAppError } from '../../kernel/errors.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createResiliencePipeline, type PipelineCall } from './pipeline.ts';
import type { ResilienceSettings } from './settings.ts';
import { createSharedBreakers } from './shared-breakers.ts';

// Two real pipelines (two nodes) joined by one in-memory shared breaker store; syncs are made by hand.
const log = pino({ level: 'silent' });
const SETTINGS: ResilienceSettings = {
  timeoutMs: 2_000, errorThresholdPercentage: 50, volumeThreshold: 4, resetTimeoutMs: 100, rollingWindowMs: 10_000,
  maxConcurrent: 4, maxQueue: 4, maxWaitMs: 100, retries: 0, retryBaseMs: 1, retryMaxDelayMs: 2, retryAfterCapMs: 2,
  retryBudgetPercent: 100, retryBudgetMinPerSec: 100, rateLimitPerSec: 1_000, inboundRateLimitPerSec: 100,
};
const call = <T>(run: PipelineCall<T>['run']): PipelineCall<T> => ({ connector: 'c', capability: 'order.get', kind: 'query', settings: SETTINGS, log, run });
const failing = () => call(async () => {
  throw new AppError('UPSTREAM_UNAVAILABLE', 'connection refused', { connector: 'c' });
});
const isCode = (code: string) => (err: unknown) => isAppError(err) && err.code === code;

function node(store: ReturnType<typeof createMemorySharedBreakerStore>, nodeId: string) {
  const metrics = createMetrics();
  const shared = createSharedBreakers({ store, nodeId, scope: 'unit', syncMs: 60_000, log, metrics });
  const pipeline = createResiliencePipeline({ log, metrics, limiter: createMemoryRateLimiter(), shared });
  return { pipeline, shared, state: () => pipeline.view('c')?.breakers[0]?.state };
}

test('two pipelines on one store: failures on both open both, the cluster sends one trial, and its success closes both', async (t) => {
  const store = createMemorySharedBreakerStore();
  const a = node(store, 'a');
  const b = node(store, 'b');
  t.after(() => [a, b].forEach((n) => n.shared.close()));
  for (const n of [a, b]) for (let i = 0; i < 2; i++) await assert.rejects(n.pipeline.execute(failing()), isCode('UPSTREAM_UNAVAILABLE'));
  assert.deepEqual([a.state(), b.state()], ['closed', 'closed'], 'two calls each are below either node\'s volume');
  await a.shared.sync();
  await b.shared.sync();
  await a.shared.sync();
  assert.deepEqual([a.state(), b.state()], ['open', 'open']);
  let sent = 0;
  const healthy = () => call(async () => ++sent);
  await assert.rejects(a.pipeline.execute(healthy()), isCode('CIRCUIT_OPEN'));
  assert.equal(sent, 0);

  await waitFor('the trial to be due on both', () => a.state() === 'halfOpen' && b.state() === 'halfOpen');
  const answers = await Promise.allSettled([a.pipeline.execute(healthy()), b.pipeline.execute(healthy())]);
  assert.equal(sent, 1, 'one trial for the cluster');
  assert.deepEqual(answers.map((x) => x.status).sort(), ['fulfilled', 'rejected']);
  await a.shared.sync();
  await b.shared.sync();
  assert.deepEqual([a.state(), b.state()], ['closed', 'closed']);
  await Promise.all([a.pipeline.execute(healthy()), b.pipeline.execute(healthy())]);
  assert.equal(sent, 3);
});
