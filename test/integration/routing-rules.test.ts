import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ROUTING_RULES_KEY } from '../../src/modules/dispatch/routing-rules-store.ts';
import { perTestGateways, ROOT_DIR, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { TEST_REDIS_URL } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

const ADMIN_KEY = 'rules-admin-key-0123456789abcdef';
const DEMO_FILE = join(ROOT_DIR, 'config/routing-rules.demo.json');
const DEMO = JSON.parse(readFileSync(DEMO_FILE, 'utf8')) as Record<string, unknown>;
const env = { OMNIGATE_ADMIN_KEYS: `ops:${ADMIN_KEY}`, OMNIGATE_ROUTING_RULES_FILE: DEMO_FILE };
const { gateway } = perTestGateways();

let redis: Redis;
before(() => {
  redis = new Redis(TEST_REDIS_URL);
});
// Each test seeds afresh; later test files seed from their own file, not from what this one stored.
beforeEach(() => redis.del(ROUTING_RULES_KEY));
after(async () => {
  await redis.del(ROUTING_RULES_KEY);
  await redis.quit();
});

const admin = (gw: TestGateway, method: string, body?: unknown) =>
  gw.api('/v1/admin/routing-rules', { method, headers: { 'x-api-key': ADMIN_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

async function rulesOf(gw: TestGateway): Promise<{ rules: Record<string, unknown>; updatedAt: string }> {
  const res = await admin(gw, 'GET');
  assert.equal(res.status, 200);
  return assertMatchesSpec(res, 'getRoutingRules');
}

describe('routing rules in Redis, read and replaced over the admin API', () => {
  test('the first node seeds Redis from the rules file; GET answers them with when they were stored', async () => {
    const gw = await gateway(env);
    const body = await rulesOf(gw);
    assert.deepEqual(body.rules, DEMO);
    assert.ok(!Number.isNaN(Date.parse(body.updatedAt)));
  });

  test('an invalid document is refused with every problem listed, and the rules in force do not change', async () => {
    const gw = await gateway(env);
    const before = await rulesOf(gw);
    const shapeRes = await admin(gw, 'PUT', { version: 'bad', defaultGroup: 'general', colour: 'red', groups: { orders: { hours: { timeZone: 'Europe/Berlin', weekly: { mon: [['9:00', '18:00']] } } } }, rules: [{ name: 'vip', when: { fact: 'customer.tier', eq: 'vip' }, then: { priority: 'lots' } }] });
    assert.equal(shapeRes.status, 400);
    const shape = await assertMatchesSpec(shapeRes, 'putRoutingRules');
    assert.equal(shape.code, 'VALIDATION_FAILED');
    assert.deepEqual(shape.errors.map((e: any) => e.pointer).sort(), ['/colour', '/groups/orders/hours/weekly/mon/0/0', '/rules/0/then/priority']);

    const meaningRes = await admin(gw, 'PUT', { ...DEMO, version: 'bad', groups: { orders: { hours: { timeZone: 'Mars/Olympus', weekly: { mon: [['18:00', '09:00']] } } } } });
    assert.equal(meaningRes.status, 400);
    const meaning = await assertMatchesSpec(meaningRes, 'putRoutingRules');
    assert.deepEqual(meaning.errors.map((e: any) => [e.in, e.pointer]), [['body', '/groups/orders/hours/timeZone'], ['body', '/groups/orders/hours/weekly/mon/0']]);
    assert.deepEqual(await rulesOf(gw), before);
  });

  test('a valid document is in force on every node within about a second, without a restart', async () => {
    const [a, b] = [await gateway(env), await gateway(env)];
    assert.equal((await rulesOf(b)).rules.version, DEMO.version);
    const next = { ...DEMO, version: 'replaced-1', rules: [{ name: 'vip', when: { fact: 'customer.tier', eq: 'vip' }, then: { priority: 80 } }] };
    const res = await admin(a, 'PUT', next);
    assert.equal(res.status, 200);
    const stored = await assertMatchesSpec(res, 'putRoutingRules');
    assert.deepEqual(stored.rules, next);
    assert.deepEqual((await rulesOf(a)).rules, next, 'the node that stored them uses them at once');
    const seen = await waitFor('node b to use the new rules', async () => ((await rulesOf(b)).rules.version === 'replaced-1' ? rulesOf(b) : undefined), { timeoutMs: 5_000 });
    assert.deepEqual(seen.rules, next);
  });

  test('a node starting later keeps the stored rules, not its file', async () => {
    const a = await gateway(env);
    const next = { ...DEMO, version: 'replaced-2' };
    assert.equal((await admin(a, 'PUT', next)).status, 200);
    const b = await gateway(env);
    assert.equal((await rulesOf(b)).rules.version, 'replaced-2');
  });

  test('a service key is refused (403) and no key is 401: the rules take an admin key', async () => {
    const gw = await gateway(env);
    assert.equal((await gw.api('/v1/admin/routing-rules')).status, 403);
    assert.equal((await fetch(`${gw.url}/v1/admin/routing-rules`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(DEMO) })).status, 401);
    assert.equal((await rulesOf(gw)).rules.version, DEMO.version);
  });

  test('a rules file that is not valid stops the start, naming OMNIGATE_ROUTING_RULES_FILE and the problem', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rules-')), 'bad.json');
    writeFileSync(file, JSON.stringify({ ...DEMO, defaultGroup: 'Not A Group' }));
    await assert.rejects(startTestGateway({ ...env, OMNIGATE_ROUTING_RULES_FILE: file }), (err: Error) => {
      assert.match(err.message, /OMNIGATE_ROUTING_RULES_FILE/);
      assert.match(err.message, /defaultGroup must match pattern/);
      return true;
    });
  });
});
