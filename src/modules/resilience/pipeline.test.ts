import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createMemoryRateLimiter } from '../../adapters/memory/memory-rate-limiter.ts';
import { AppError, isAppError } from '../../kernel/errors.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createResiliencePipeline, type BreakerState, type PipelineCall } from './pipeline.ts';
import type { ResilienceSettings } from './settings.ts';

// The real pipeline (bulkhead, opossum breaker, deadline, retries, rate limit) with the in-memory limiter.
const log = pino({ level: 'silent' });
const SETTINGS: ResilienceSettings = {
  timeoutMs: 2_000, errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs: 60_000, rollingWindowMs: 10_000,
  maxConcurrent: 4, maxQueue: 4, maxWaitMs: 100, retries: 2, retryBaseMs: 1, retryMaxDelayMs: 2, retryAfterCapMs: 2,
  retryBudgetPercent: 100, retryBudgetMinPerSec: 100, rateLimitPerSec: 1_000, inboundRateLimitPerSec: 100,
};

/** `now`: the rate limiter's clock; a fixed one keeps two calls in one window (the windows are clock-aligned). */
function pipelineWithChanges(now?: () => number) {
  const changes: BreakerState[] = [];
  const pipeline = createResiliencePipeline({ log, metrics: createMetrics(), limiter: createMemoryRateLimiter(now), onBreakerChange: (c) => changes.push(c.state) });
  return { pipeline, changes };
}
const call = <T>(run: PipelineCall<T>['run'], over: Partial<PipelineCall<T>> = {}): PipelineCall<T> => ({ connector: 'c', capability: 'order.get', kind: 'query', settings: SETTINGS, log, run, ...over });
const unavailable = () => new AppError('UPSTREAM_UNAVAILABLE', 'connection refused', { connector: 'c' });
const codeOf = (code: string) => (err: unknown) => isAppError(err) && err.code === code;

test('retries a read that failed with UPSTREAM_UNAVAILABLE and answers the later success', async () => {
  const { pipeline } = pipelineWithChanges();
  let attempts = 0;
  const value = await pipeline.execute(call(async () => {
    attempts += 1;
    if (attempts < 3) throw unavailable();
    return 'found';
  }));
  assert.equal(value, 'found');
  assert.equal(attempts, 3);
});

test('never retries a command: one attempt, its failure as it was', async () => {
  const { pipeline } = pipelineWithChanges();
  let attempts = 0;
  await assert.rejects(pipeline.execute(call(async () => {
    attempts += 1;
    throw unavailable();
  }, { kind: 'command', capability: 'ticket.create' })), codeOf('UPSTREAM_UNAVAILABLE'));
  assert.equal(attempts, 1);
});

test('opens the breaker after volumeThreshold failing calls: the next answers CIRCUIT_OPEN without reaching the connector', async () => {
  const { pipeline, changes } = pipelineWithChanges();
  let attempts = 0;
  const failing = call(async () => {
    attempts += 1;
    throw new AppError('CONNECTOR_BAD_DATA', 'not an order', { connector: 'c' });
  });
  for (let n = 0; n < 3; n++) await assert.rejects(pipeline.execute(failing), codeOf('CONNECTOR_BAD_DATA'));
  await assert.rejects(pipeline.execute(failing), codeOf('CIRCUIT_OPEN'));
  assert.equal(attempts, 3);
  assert.deepEqual(changes, ['open']);
  assert.equal(pipeline.view('c')?.breakers[0]?.state, 'open');
  pipeline.forget('c');
  assert.equal(pipeline.view('c'), undefined);
});

test('a call past its deadline answers UPSTREAM_TIMEOUT and its attempt sees the abort', async () => {
  const { pipeline } = pipelineWithChanges();
  let seen: AbortSignal | undefined;
  await assert.rejects(pipeline.execute(call((signal) => {
    seen = signal;
    return new Promise<never>(() => {});
  }, { settings: { ...SETTINGS, timeoutMs: 20 } })), codeOf('UPSTREAM_TIMEOUT'));
  assert.equal(seen?.aborted, true);
});

test('a call its caller left is counted as abandoned, not as its backend being unavailable', async () => {
  const metrics = createMetrics();
  const pipeline = createResiliencePipeline({ log, metrics, limiter: createMemoryRateLimiter() });
  const caller = new AbortController();
  const running = pipeline.execute(call(() => new Promise<never>(() => {}), { signal: caller.signal }));
  setTimeout(() => caller.abort(new Error('the caller went away')), 5);
  await assert.rejects(running, (err) => isAppError(err) && err.code === 'UPSTREAM_UNAVAILABLE' && err.extensions.abandoned === true);
  const text = await metrics.registry.metrics();
  assert.match(text, /omnigate_connector_calls_total\{connector="c",capability="order\.get",outcome="abandoned"\} 1/);
  assert.doesNotMatch(text, /omnigate_connector_calls_total\{[^}]*outcome="UPSTREAM_UNAVAILABLE"/);
});

test('a call over the rate limit answers RATE_LIMITED with when to come back', async () => {
  const { pipeline } = pipelineWithChanges(() => 1_000_500);
  const limited = call(async () => 'ok', { rateLimit: { key: 'test', perSec: 1 } });
  assert.equal(await pipeline.execute(limited), 'ok');
  await assert.rejects(pipeline.execute(limited), (err: unknown) => codeOf('RATE_LIMITED')(err) && Number((err as AppError).extensions.retryAfterMs) > 0);
});

test('the bulkhead turns away what its slots and queue cannot hold with CONNECTOR_SATURATED', async () => {
  const { pipeline } = pipelineWithChanges();
  const gate = Promise.withResolvers<string>();
  const settings = { ...SETTINGS, maxConcurrent: 1, maxQueue: 0 };
  const first = pipeline.execute(call(() => gate.promise, { settings }));
  await assert.rejects(pipeline.execute(call(async () => 'never', { settings })), codeOf('CONNECTOR_SATURATED'));
  assert.equal(pipeline.view('c')?.bulkhead.rejected, 1);
  gate.resolve('done');
  assert.equal(await first, 'done');
});

test('an open breaker refuses before the bulkhead: CIRCUIT_OPEN while its half-open trial holds the only slot, counted as a refusal', async () => {
  const { pipeline, changes } = pipelineWithChanges();
  const settings = { ...SETTINGS, maxConcurrent: 1, maxQueue: 0, resetTimeoutMs: 30, retries: 0 };
  const failing = call(async () => { throw unavailable(); }, { settings });
  for (let n = 0; n < 3; n++) await assert.rejects(pipeline.execute(failing), codeOf('UPSTREAM_UNAVAILABLE'));
  while (!changes.includes('halfOpen')) await new Promise((r) => setTimeout(r, 5));
  const gate = Promise.withResolvers<string>();
  const sent = Promise.withResolvers<void>();
  const trial = pipeline.execute(call(() => (sent.resolve(), gate.promise), { settings }));
  await sent.promise;
  const rejectsBefore = pipeline.view('c')!.breakers[0]!.stats.rejects;
  await assert.rejects(pipeline.execute(call(async () => 'never', { settings })), codeOf('CIRCUIT_OPEN'));
  assert.equal(pipeline.view('c')!.breakers[0]!.stats.rejects, rejectsBefore + 1);
  assert.equal(pipeline.view('c')!.bulkhead.rejected, 0);
  gate.resolve('back');
  assert.equal(await trial, 'back');
  assert.equal(pipeline.view('c')!.breakers[0]!.state, 'closed');
});

test('a call over the rate limit is refused before the bulkhead: RATE_LIMITED while the only slot is taken, and the slot is not counted as turned away', async () => {
  const { pipeline } = pipelineWithChanges(() => 1_000_500);
  const settings = { ...SETTINGS, maxConcurrent: 1, maxQueue: 0 };
  const gate = Promise.withResolvers<string>();
  const first = pipeline.execute(call(() => gate.promise, { settings, rateLimit: { key: 'early', perSec: 1 } }));
  await assert.rejects(pipeline.execute(call(async () => 'never', { settings, rateLimit: { key: 'early', perSec: 1 } })), codeOf('RATE_LIMITED'));
  assert.equal(pipeline.view('c')?.bulkhead.rejected, 0);
  gate.resolve('done');
  assert.equal(await first, 'done');
});
