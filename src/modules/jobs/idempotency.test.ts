import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createMemoryIdempotencyStore } from '../../adapters/memory/memory-idempotency-store.ts';
import { AppError, isAppError } from '../../kernel/errors.ts';
import { createIdempotency, fingerprintOf, type Answer, type IdempotentRequest } from './idempotency.ts';
import type { WriteGuard } from './write-guard.ts';

// The real idempotency rules over the in-memory IdempotencyStore (the conformance suite holds it to Redis's behaviour).
const created: Answer = { status: 201, contentType: 'application/json', headers: {}, body: { id: 't-1' } };
const request = (key: string, body: unknown = { subject: 'help' }): IdempotentRequest => ({
  scope: 'createTicket', principal: 'acme', key, fingerprint: fingerprintOf(body), instance: '/v1/tickets', traceId: 'trace-1', log: pino({ level: 'silent' }),
});
const codeOf = (code: string) => (err: unknown) => isAppError(err) && err.code === code;

function setUp(lockMs = 60_000) {
  return createIdempotency({ store: createMemoryIdempotencyStore(), lockMs });
}

test('the first request runs; a repeat with the same body gets its answer replayed without running', async () => {
  const idempotency = setUp();
  let runs = 0;
  const work = async () => (runs++, created);
  assert.deepEqual(await idempotency.run(request('k1'), work), { answer: created, isReplay: false });
  assert.deepEqual(await idempotency.run(request('k1', { subject: 'help' }), work), { answer: created, isReplay: true });
  assert.equal(runs, 1);
});

test('the key with another body is IDEMPOTENCY_KEY_REUSED; a repeat while the first runs is IDEMPOTENCY_KEY_IN_USE', async () => {
  const idempotency = setUp();
  const gate = Promise.withResolvers<Answer>();
  const first = idempotency.run(request('k2'), () => gate.promise);
  await assert.rejects(idempotency.run(request('k2'), async () => created), (err: unknown) => codeOf('IDEMPOTENCY_KEY_IN_USE')(err) && (err as AppError).extensions.retryAfterMs !== undefined);
  await assert.rejects(idempotency.run(request('k2', { subject: 'other' }), async () => created), codeOf('IDEMPOTENCY_KEY_REUSED'));
  gate.resolve(created);
  assert.equal((await first).isReplay, false);
});

test('a retryable failure lets go of the key (a repeat runs again); a final 4xx is kept and replayed as problem+json', async () => {
  const idempotency = setUp();
  await assert.rejects(idempotency.run(request('k3'), async () => {
    throw new AppError('UPSTREAM_UNAVAILABLE', 'down');
  }), codeOf('UPSTREAM_UNAVAILABLE'));
  assert.equal((await idempotency.run(request('k3'), async () => created)).isReplay, false);

  await assert.rejects(idempotency.run(request('k4'), async () => {
    throw new AppError('NOT_FOUND', 'no customer 9');
  }), codeOf('NOT_FOUND'));
  const replay = await idempotency.run(request('k4'), async () => created);
  assert.equal(replay.isReplay, true);
  assert.equal(replay.answer.status, 404);
  assert.equal(replay.answer.contentType, 'application/problem+json');
  assert.equal((replay.answer.body as { traceId: string }).traceId, 'trace-1');
});

test('a write started without a token whose outcome is unknown stays the answer: a repeat does not write again', async () => {
  const idempotency = setUp();
  let writes = 0;
  const work = async (guard: WriteGuard) => {
    await guard.starting(false);
    writes += 1;
    throw new AppError('UPSTREAM_TIMEOUT', 'no answer');
  };
  await assert.rejects(idempotency.run(request('k5'), work), codeOf('UPSTREAM_TIMEOUT'));
  const replay = await idempotency.run(request('k5'), work);
  assert.deepEqual({ isReplay: replay.isReplay, status: replay.answer.status, writes }, { isReplay: true, status: 504, writes: 1 });
});

test('a started write whose holder went silent past the lock runs again only with its token, the same one each time', async () => {
  let clock = 0;
  const now = () => clock;
  const idempotency = createIdempotency({ store: createMemoryIdempotencyStore({ now }), lockMs: 1_000, now });
  const tokens: string[] = [];
  // The first holder starts its write and never answers (its node died).
  const silent = async (guard: WriteGuard) => {
    tokens.push(guard.token);
    await guard.starting(true);
    return new Promise<Answer>(() => {});
  };
  void idempotency.run(request('k6'), silent);
  await new Promise((r) => setImmediate(r));
  await assert.rejects(idempotency.run(request('k6'), async () => created), codeOf('IDEMPOTENCY_KEY_IN_USE'));
  clock += 1_000;
  const again = await idempotency.run(request('k6'), async (guard) => (tokens.push(guard.token), created));
  assert.equal(again.isReplay, false);
  assert.deepEqual(tokens, [tokens[0], tokens[0]]);

  void idempotency.run(request('k7'), async (guard) => {
    await guard.starting(false);
    return new Promise<Answer>(() => {});
  });
  await new Promise((r) => setImmediate(r));
  clock += 1_000;
  await assert.rejects(idempotency.run(request('k7'), async () => created), codeOf('UPSTREAM_TIMEOUT'), 'without a token the outcome is unknown: not written again');
});
