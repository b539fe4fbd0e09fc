import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BadUpstreamDataError } from 'omnigate/sdk';
import { createSchemaRegistry } from '../../../../src/kernel/schemas.ts';
import { toProduct, toProductPage } from './to-product.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const schemas = createSchemaRegistry(new URL('../../../../schemas', import.meta.url).pathname);

test('maps the recorded catalogue to one schema-valid page of every product, in the backend order', () => {
  const page = toProductPage(fixture('products.json')) as { items: { sku: string }[]; page: unknown };
  assert.equal(schemas.validatorFor('Page<Product>')(page), true);
  assert.deepEqual(page.items.map((p) => p.sku), ['SKU-KB-01', 'SKU-MN-04', 'SKU-CB-06']);
  assert.deepEqual(page.page, { number: 1, size: 3, totalItems: 3, hasMore: false });
});

test('turns the minor-unit price into exact decimal money', () => {
  const product = toProduct({ sku: 'SKU-MN-04', name: '27" monitor', unitPriceMinor: 32905, currency: 'EUR' });
  assert.deepEqual(product, { sku: 'SKU-MN-04', name: '27" monitor', price: { amount: '329.05', currency: 'EUR' } });
  assert.equal(schemas.validatorFor('Product')(product), true);
});

test('an empty catalogue is a valid empty page', () => {
  const page = toProductPage([]);
  assert.equal(schemas.validatorFor('Page<Product>')(page), true);
  assert.deepEqual((page as { items: unknown[] }).items, []);
});

test('names the broken field when the backend sends garbage', () => {
  const garbage = [{ sku: 'SKU-KB-01', name: 'Mechanical keyboard', unitPriceMinor: 'lots', currency: 'EUR' }];
  assert.throws(() => toProductPage(garbage), (err: unknown) => err instanceof BadUpstreamDataError && err.field === '[0].unitPriceMinor');
  assert.throws(() => toProductPage({ content: [] }), (err: unknown) => err instanceof BadUpstreamDataError);
});

test('keeps catalogue fields the model has no place for in attributes', () => {
  const product = toProduct({ sku: 'SKU-MN-04', name: '27" monitor', unitPriceMinor: 32905, currency: 'EUR', weightGrams: 5400 });
  assert.deepEqual(product.attributes, { weightGrams: 5400 });
  assert.equal(schemas.validatorFor('Product')(product), true);
});
