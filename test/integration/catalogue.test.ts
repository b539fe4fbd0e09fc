import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { backendAdmin, perTestGateways, ROOT_DIR, setFault, type TestGateway } from '../support/gateway.ts';
import { assertMatchesSpec } from '../support/spec.ts';
import { waitFor } from '../support/wait.ts';

const { gateway } = perTestGateways();

/** The catalogue the orders backend of this run serves: the seed's products.tsv. */
const SEED_PRODUCTS = readFileSync(join(ROOT_DIR, '.data/seed/products.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split('\t'))
  .map(([sku = '', name = '', minor = '0', currency = '']) => ({ sku, name, price: { amount: (Number(minor) / 100).toFixed(2), currency } }));

const logged = (gw: TestGateway, msg: string): number => gw.logs.filter((l) => l.module === 'catalogue' && l.msg === msg).length;

describe('the product catalogue from the orders system', () => {
  test('product.list through POST /v1/query answers every product of the real orders backend, as canonical Products', async () => {
    const gw = await gateway();
    const res = await gw.api('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ capability: 'product.list' }) });
    const body = await assertMatchesSpec(res, 'query');
    assert.equal(res.status, 200);
    assert.equal(body.source.connector, 'orders-java');
    assert.equal(SEED_PRODUCTS.length, 10);
    assert.deepEqual(body.data.items, SEED_PRODUCTS);
    assert.deepEqual(body.data.page, { number: 1, size: 10, totalItems: 10, hasMore: false });
    assert.ok(body.data.items.some((p: { sku: string; name: string }) => p.sku === 'SKU-MN-04' && p.name === '27" monitor'));
    const requests = await backendAdmin<{ method: string; path: string; status: number }[]>('orders', 'requests');
    assert.ok(requests.some((r) => r.method === 'GET' && r.path === '/api/products' && r.status === 200));
    // Params it does not declare are refused before any backend call.
    const bad = await gw.api('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ capability: 'product.list', params: { page: 2 } }) });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'VALIDATION_FAILED');
    // Without the built-in bot the gateway keeps no catalogue.
    assert.equal(gw.catalogue, undefined);
  });

  test('the built-in bot’s catalogue reads the products on its schedule and keeps the last good list while the orders backend is down', async () => {
    const gw = await gateway({ OMNIGATE_CHAT_BOT: 'builtin', OMNIGATE_BOT_CATALOGUE_REFRESH_MS: '50', OMNIGATE_RESILIENCE_ORDERS_JAVA_RESET_TIMEOUT_MS: '100' });
    const catalogue = gw.catalogue;
    assert.ok(catalogue, 'a gateway with the built-in bot has a catalogue');
    const expected = SEED_PRODUCTS.map(({ sku, name }) => ({ sku, name }));
    await waitFor('the first catalogue read', () => catalogue.refreshedAt() !== undefined);
    assert.deepEqual(catalogue.products(), expected);
    // On its schedule: more reads follow by themselves.
    await waitFor('two more reads', () => logged(gw, 'catalogue refreshed') >= 3);

    await setFault('orders', { mode: 'down' });
    await waitFor('a read that fails', () => logged(gw, 'catalogue refresh failed: keeping the last good list') >= 1);
    const lastGood = catalogue.refreshedAt();
    const failures = logged(gw, 'catalogue refresh failed: keeping the last good list');
    await waitFor('two more failed reads', () => logged(gw, 'catalogue refresh failed: keeping the last good list') >= failures + 2);
    assert.equal(catalogue.refreshedAt(), lastGood);
    assert.deepEqual(catalogue.products(), expected);
    const failed = gw.logs.find((l) => l.module === 'catalogue' && l.msg === 'catalogue refresh failed: keeping the last good list');
    assert.equal(failed?.level, 40);
    assert.equal(failed?.products, 10);

    await setFault('orders', { mode: 'ok' });
    await waitFor('a good read once the backend is back', () => (catalogue.refreshedAt() ?? 0) > (lastGood ?? 0));
    assert.deepEqual(catalogue.products(), expected);
  });
});
