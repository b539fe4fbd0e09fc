import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { perTestGateways, type TestGateway } from '../support/gateway.ts';

const { gateway } = perTestGateways();

// Names unique to this run: subscriptions live in the shared Redis.
const ALICE = `alice-${process.pid}`;
const BOB = `bob-${process.pid}`;
const ALICE_OLD = 'alice-old-key-0123456789';
const ALICE_NEW = 'alice-new-key-0123456789';
const BOB_KEY = 'bob-key-0123456789abcdef';

const subscriptionsOf = async (gw: TestGateway, key: string): Promise<string[]> => {
  const res = await gw.api('/v1/webhooks/subscriptions', { headers: { 'x-api-key': key } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { subscriptions: { id: string }[] }).subscriptions.map((s) => s.id);
};

describe('principals', () => {
  test("a key's name owns what it made: a rotated key keeps it, removing a key hands nothing to another", async () => {
    const both = await gateway({ OMNIGATE_API_KEYS: `${ALICE}:${ALICE_OLD},${BOB}:${BOB_KEY}`, OMNIGATE_WEBHOOK_ALLOW_PRIVATE: 'true' });
    const created = await both.api('/v1/webhooks/subscriptions', {
      method: 'POST',
      headers: { 'x-api-key': ALICE_OLD, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', secret: 'subscription-secret-0123456789', types: ['connector.changed'] }),
    });
    assert.equal(created.status, 201);
    const { id } = (await created.json()) as { id: string };
    await both.stop();

    // Rotation: the old key and the new one under one name, then the new one alone.
    const rotating = await gateway({ OMNIGATE_API_KEYS: `${BOB}:${BOB_KEY},${ALICE}:${ALICE_OLD},${ALICE}:${ALICE_NEW}`, OMNIGATE_WEBHOOK_ALLOW_PRIVATE: 'true' });
    assert.deepEqual(await subscriptionsOf(rotating, ALICE_OLD), [id]);
    assert.deepEqual(await subscriptionsOf(rotating, ALICE_NEW), [id]);
    assert.deepEqual(await subscriptionsOf(rotating, BOB_KEY), []);
    await rotating.stop();

    const bobAlone = await gateway({ OMNIGATE_API_KEYS: `${BOB}:${BOB_KEY}` });
    assert.deepEqual(await subscriptionsOf(bobAlone, BOB_KEY), []);
    assert.equal((await bobAlone.api('/v1/webhooks/subscriptions', { headers: { 'x-api-key': ALICE_NEW } })).status, 401);
    await bobAlone.stop();

    const rotated = await gateway({ OMNIGATE_API_KEYS: `${ALICE}:${ALICE_NEW}` });
    assert.deepEqual(await subscriptionsOf(rotated, ALICE_NEW), [id]);
    assert.equal((await rotated.api(`/v1/webhooks/subscriptions/${id}`, { method: 'DELETE', headers: { 'x-api-key': ALICE_NEW } })).status, 204);
  });
});
