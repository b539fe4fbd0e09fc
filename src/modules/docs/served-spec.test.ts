import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadOpenApi, type JsonObject } from '../../kernel/openapi.ts';
import { createAjv } from '../../kernel/schemas.ts';
import { createServedSpec, narrowQueryRequest, type DeclaredCapability } from './served-spec.ts';

const doc = loadOpenApi(fileURLToPath(new URL('../../../', import.meta.url)));
const ORDER_GET: DeclaredCapability = {
  name: 'order.get',
  params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1 } } },
  declaredBy: 'orders-java@1.0.0',
};
const ORDER_LIST: DeclaredCapability = { name: 'order.list', params: { type: 'object', properties: { page: { type: 'integer' } } }, declaredBy: 'orders-java@1.0.0' };
const queryBody = (spec: JsonObject): JsonObject => (spec as any).paths['/v1/query'].post.requestBody.content['application/json'].schema;

test("narrows POST /v1/query's body to each declared capability with its params, refusing what the connector would", () => {
  const validate = createAjv().compile(queryBody(narrowQueryRequest(doc, [ORDER_GET, ORDER_LIST])));
  assert.equal(validate({ capability: 'order.get', params: { id: 'A-1001' } }), true);
  assert.equal(validate({ capability: 'order.get', params: {} }), false);
  assert.equal(validate({ capability: 'order.get' }), false);
  assert.equal(validate({ capability: 'order.list' }), true, 'params that may be empty may be left out');
  assert.equal(validate({ capability: 'order.delete', params: {} }), false);
});

test('keeps the generic body when nothing is declared, and a params schema with a $ref as any object', () => {
  assert.deepEqual(queryBody(narrowQueryRequest(doc, [])), queryBody(doc));
  const selfReferring = { ...ORDER_GET, params: { $defs: { id: { type: 'string' } }, type: 'object', properties: { id: { $ref: '#/$defs/id' } } } };
  assert.deepEqual((queryBody(narrowQueryRequest(doc, [selfReferring])).oneOf as any)[0].properties.params, { type: 'object' });
  assert.equal(queryBody(doc).oneOf, undefined, 'the loaded document itself is not changed');
});

test('rebuilds the served document only when who declares the capabilities changes', () => {
  let declared: DeclaredCapability[] = [ORDER_GET];
  const served = createServedSpec(doc, () => declared);
  const first = served();
  assert.equal(served(), first, 'the same text, from memory');
  declared = [ORDER_GET, ORDER_LIST];
  const widened = served();
  assert.equal((queryBody(JSON.parse(widened) as JsonObject).oneOf as unknown[]).length, 2);
  declared = [{ ...ORDER_GET, params: { type: 'object' }, declaredBy: 'orders-java@1.1.0' }, ORDER_LIST];
  assert.deepEqual((queryBody(JSON.parse(served()) as JsonObject).oneOf as any)[0].properties.params, { type: 'object' });
});
