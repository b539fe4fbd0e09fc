import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTypes, GENERATED_TYPES_FILE } from '../../scripts/gen-types.ts';
import { ERROR_CATALOGUE } from './errors.ts';
import { createAjv } from './schemas.ts';
import { bundleOpenApi, errorCodes, isObject, loadOpenApi, operations, resolveRef, type JsonObject } from './openapi.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const doc = loadOpenApi(ROOT);
const PUBLIC_OPERATIONS = ['health', 'readiness', 'openapi', 'asyncapi', 'docs'];

function collectRefs(value: unknown, at = '#', found: Array<{ ref: string; at: string }> = []): Array<{ ref: string; at: string }> {
  if (Array.isArray(value)) value.forEach((item, i) => collectRefs(item, `${at}/${i}`, found));
  else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string') found.push({ ref: v, at });
      else collectRefs(v, `${at}/${key}`, found);
    }
  }
  return found;
}

const deref = (value: unknown): JsonObject => {
  const node = isObject(value) && typeof value.$ref === 'string' ? resolveRef(doc, value.$ref) : value;
  assert.ok(isObject(node));
  return node;
};

const schemas = (doc.components as { schemas: Record<string, JsonObject> }).schemas;

test('the bundled document has no external $ref and every $ref resolves inside it', () => {
  const refs = collectRefs(doc);
  assert.ok(refs.length > 50);
  for (const { ref, at } of refs) {
    assert.ok(ref.startsWith('#/'), `external $ref ${ref} at ${at}`);
    assert.notEqual(resolveRef(doc, ref), undefined, `$ref ${ref} at ${at} resolves to nothing`);
  }
});

test('inlines each canonical schema under its title, without $id or $schema, and hoists $defs', () => {
  for (const name of ['Customer', 'Money', 'Order', 'Ticket', 'Problem', 'QueryRequest', 'QueryResponse', 'Source', 'PageInfo']) {
    const schema = schemas[name];
    assert.ok(schema && !('$ref' in schema), `${name} is not inlined`);
    assert.ok(!('$id' in schema) && !('$schema' in schema) && !('$defs' in schema), `${name} keeps $id, $schema or $defs`);
  }
  assert.equal(schemas.QueryEnvelope, undefined);
  assert.deepEqual((schemas.QueryResponse?.properties as JsonObject).source, { $ref: '#/components/schemas/Source' });
  assert.deepEqual((schemas.Customer?.properties as JsonObject).lifetimeValue, { $ref: '#/components/schemas/Money' });
});

test('refuses an API schema named like a canonical one', () => {
  const spec = { openapi: '3.1.0', components: { schemas: { Money: { type: 'string' } } } };
  const documents = new Map([['money.schema.json', { title: 'Money', type: 'object' }]]);
  assert.throws(() => bundleOpenApi(spec, documents), /Money clashes/);
});

test('the committed generated types equal a fresh generation', async () => {
  const committed = readFileSync(join(ROOT, GENERATED_TYPES_FILE), 'utf8');
  const fresh = await generateTypes(ROOT);
  assert.ok(committed === fresh, `${GENERATED_TYPES_FILE} is out of date with openapi/ and schemas/: run npm run gen:types`);
});

test('x-error-codes documents every catalogue code with its status, retryable and title, and no other code', () => {
  const documented = errorCodes(doc);
  assert.deepEqual(Object.keys(documented).sort(), Object.keys(ERROR_CATALOGUE).sort());
  for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
    const { status, retryable, title } = documented[code] ?? {};
    assert.deepEqual({ status, retryable, title }, { status: entry.status, retryable: entry.retryable, title: entry.title }, code);
    assert.match(String((doc.info as JsonObject).description), new RegExp(`\\| \`${code}\` \\| ${entry.status} \\|`));
  }
});

test("the Problem schema's code enum equals the catalogue's codes", () => {
  const code = (schemas.Problem?.properties as Record<string, JsonObject>).code;
  assert.deepEqual([...(code?.enum as string[])].sort(), Object.keys(ERROR_CATALOGUE).sort());
});

const CHAT_SECURITY = [{ ApiKeyHeader: [] }, { BearerAuth: [] }, { AgentBearer: [] }, { VisitorBearer: [] }];
const isChatPath = (path: string): boolean => path === '/v1/conversations' || path.startsWith('/v1/conversations/') || path.startsWith('/v1/ws/');
// Supervisors' views: keys and agent tokens (the route refuses agents without the role); never visitors.
const QUEUES_SECURITY = [{ ApiKeyHeader: [] }, { BearerAuth: [] }, { AgentBearer: [] }];
// The query API's reads: keys, and agent tokens with X-Conversation-Id (the routes check it); never visitors.
const QUERY_READ_SECURITY = QUEUES_SECURITY;
const QUERY_READS = ['listCustomers', 'getCustomer', 'listCustomerOrders', 'listCustomerTickets', 'getCustomerContext', 'getOrder', 'getTicket', 'query'];

test('every operation has a unique operationId and needs an API key unless it is public, an admin key under /v1/admin, a key or token on the chat API and the query reads', () => {
  const ops = operations(doc);
  assert.equal(new Set(ops.map((o) => o.operationId)).size, ops.length);
  assert.deepEqual(doc.security, [{ ApiKeyHeader: [] }, { BearerAuth: [] }]);
  for (const { operationId, path, op } of ops) {
    if (PUBLIC_OPERATIONS.includes(operationId)) assert.deepEqual(op.security, [], `${operationId} must be public`);
    // Backends' webhooks carry no key: their connector checks the sender's signature.
    else if (operationId === 'receiveWebhook') assert.deepEqual(op.security, [], 'receiveWebhook is authenticated by signature');
    // Widgets open sessions from the sites' pages with the site's public widget key.
    else if (operationId === 'createWidgetSession') assert.deepEqual(op.security, [{ WidgetKey: [] }], 'createWidgetSession takes a widget key');
    else if (path.startsWith('/v1/admin/')) assert.deepEqual(op.security, [{ AdminKeyHeader: [] }, { AdminBearer: [] }], `${operationId} must need an admin key`);
    else if (isChatPath(path)) assert.deepEqual(op.security, CHAT_SECURITY, `${operationId} takes API keys, agent and visitor tokens`);
    else if (QUERY_READS.includes(operationId)) {
      assert.deepEqual(op.security, QUERY_READ_SECURITY, `${operationId} takes API keys and agent tokens`);
      assert.ok((op.parameters as JsonObject[]).some((p) => p.$ref === '#/components/parameters/ConversationHeader'), `${operationId} documents X-Conversation-Id`);
    }
    else if (path === '/v1/queues' || path.startsWith('/v1/queues/') || path.startsWith('/v1/lineage/')) assert.deepEqual(op.security, QUEUES_SECURITY, `${operationId} takes API keys and supervisor tokens`);
    else assert.equal(op.security, undefined, `${operationId} must not override the global security`);
  }
  assert.deepEqual(ops.filter((o) => PUBLIC_OPERATIONS.includes(o.operationId)).length, PUBLIC_OPERATIONS.length);
});

test('every error response is problem+json whose example codes carry that status', () => {
  for (const { operationId, op } of operations(doc)) {
    for (const [status, response] of Object.entries(op.responses as JsonObject)) {
      if (!/^[45]\d\d$/.test(status) || operationId === 'readiness') continue;
      const content = deref(response).content as Record<string, JsonObject>;
      const media = content['application/problem+json'];
      assert.deepEqual(Object.keys(content), ['application/problem+json'], `${operationId} ${status}`);
      assert.deepEqual(media?.schema, { $ref: '#/components/schemas/Problem' }, `${operationId} ${status}`);
      for (const example of Object.values(media?.examples as JsonObject)) {
        const code = (deref(example).value as { code: keyof typeof ERROR_CATALOGUE }).code;
        assert.equal(ERROR_CATALOGUE[code].status, Number(status), `${operationId} ${status} documents ${code}`);
      }
    }
  }
});

test('parameters and bodies are precise enough to generate request validation from', () => {
  for (const { operationId, parameters, op } of operations(doc)) {
    for (const param of parameters) {
      const schema = deref(param.schema);
      assert.ok(typeof schema.type === 'string', `${operationId} ${String(param.name)} has no type`);
      if (param.in === 'path') assert.ok(schema.pattern || schema.minLength, `${operationId} ${String(param.name)} has no pattern`);
    }
    const body = op.requestBody === undefined ? undefined : (deref(op.requestBody).content as Record<string, JsonObject>)['application/json'];
    if (body) assert.equal(deref(body.schema).additionalProperties, false, `${operationId} body allows extra members`);
  }
});

test('every numeric parameter has a maximum and every string parameter a maximum length, pattern or enum', () => {
  // A bound the backends enforce but the document does not state is a 400 the caller cannot foresee.
  const bounded = (schema: JsonObject): boolean =>
    schema.type === 'integer' || schema.type === 'number' ? schema.maximum !== undefined
    : schema.type === 'string' ? schema.maxLength !== undefined || schema.enum !== undefined || /\{\d+,\d+\}\$$/.test(String(schema.pattern ?? ''))
    : schema.type === 'array' ? schema.maxItems !== undefined && bounded(deref(schema.items))
    : true;
  for (const { operationId, parameters } of operations(doc)) {
    for (const param of parameters) assert.ok(bounded(deref(param.schema)), `${operationId} ${String(param.in)} ${String(param.name)} is unbounded`);
  }
});

test('the customer id is an opaque, path-safe string, the same in the path, the bodies and the context', () => {
  const customerId = deref(schemas.CustomerId);
  const pattern = new RegExp(String(customerId.pattern));
  for (const id of ['42', 'cust_7f3a-9B.x', 'a:b@c~d', '0f8fad5b-d9cb-469f-a165-70867728950e', 'x'.repeat(128)]) assert.match(id, pattern);
  for (const id of ['', '.', '..', 'a/b', 'a b', 'a?b', 'a#b', 'a%2Fb', 'x'.repeat(129)]) assert.doesNotMatch(id, pattern, id);
  const byId = new Map(operations(doc).map((o) => [o.operationId, o]));
  const pathId = byId.get('getCustomer')?.parameters.find((p) => p.name === 'id');
  assert.deepEqual(pathId?.schema, { $ref: '#/components/schemas/CustomerId' });
  assert.deepEqual((schemas.CreateTicketRequest?.properties as JsonObject).customerId, { $ref: '#/components/schemas/CustomerId', description: 'The canonical customer id.' });
  assert.deepEqual((schemas.CustomerContext?.properties as JsonObject).customerId, { $ref: '#/components/schemas/CustomerId' });
});

test('every component schema and every problem example compiles and validates with ajv 2020', () => {
  // The gateway's own (strict) ajv; `components` is only a container for the refs to walk into.
  const ajv = createAjv().addKeyword({ keyword: 'components' });
  ajv.addSchema({ $id: 'https://omnigate.dev/openapi.json', components: doc.components });
  for (const name of Object.keys(schemas)) assert.ok(ajv.getSchema(`https://omnigate.dev/openapi.json#/components/schemas/${name}`), name);
  const validateProblem = ajv.getSchema('https://omnigate.dev/openapi.json#/components/schemas/Problem');
  for (const [name, example] of Object.entries((doc.components as { examples: Record<string, JsonObject> }).examples)) {
    assert.ok(validateProblem?.(example.value), `example ${name}: ${ajv.errorsText(validateProblem?.errors)}`);
  }
});

test('a customer context part carries data when ok and an error when failed', () => {
  const ajv = createAjv().addKeyword({ keyword: 'components' });
  ajv.addSchema({ $id: 'https://omnigate.dev/openapi.json', components: doc.components });
  const validate = ajv.getSchema('https://omnigate.dev/openapi.json#/components/schemas/CustomerContext');
  const context = (orders: JsonObject) => ({
    customerId: '42',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    complete: false,
    parts: { customer: { status: 'skipped', latencyMs: 0, error: { code: 'UPSTREAM_UNAVAILABLE', detail: 'the customer profile is unavailable', retryable: true } }, orders, openTickets: { status: 'ok', latencyMs: 3, data: [] } },
  });
  const error = { code: 'UPSTREAM_TIMEOUT', detail: 'no answer within 2000 ms', retryable: true };
  assert.equal(validate?.(context({ status: 'error', latencyMs: 2000, connector: 'orders-java', error })), true);
  assert.equal(validate?.(context({ status: 'ok', latencyMs: 5, data: [] })), true);
  assert.equal(validate?.(context({ status: 'ok', latencyMs: 5 })), false);
  assert.equal(validate?.(context({ status: 'error', latencyMs: 5 })), false);
  assert.equal(validate?.(context({ status: 'ok', latencyMs: 5, data: [], extra: 1 })), false);
});

test('query parameters coerce from strings and fill defaults, as the request validator uses them', () => {
  // `components` only carries the schemas that parameters `$ref` (the customer id).
  const ajv = createAjv({ coerceTypes: true, useDefaults: true }).addKeyword({ keyword: 'components' });
  const compileIn = (where: string, parameters: readonly JsonObject[]) => {
    const own = parameters.filter((p) => p.in === where);
    const required = own.filter((p) => p.required === true).map((p) => String(p.name));
    return ajv.compile({ type: 'object', required, properties: Object.fromEntries(own.map((p) => [String(p.name), p.schema])), components: { schemas } });
  };
  const validators = new Map(operations(doc).map((o) => [o.operationId, compileIn('query', o.parameters)]));
  for (const o of operations(doc)) compileIn('path', o.parameters);

  const query: JsonObject = { page: '2' };
  assert.equal(validators.get('listCustomers')?.(query), true);
  assert.deepEqual(query, { page: 2, pageSize: 20 });
  assert.equal(validators.get('listCustomers')?.({ pageSize: '101' }), false);
  assert.equal(validators.get('getCustomerContext')?.({ ordersLimit: '0' }), false);
});

test('every /v1 operation except the proxy, the admin API, the event stream, jobs, webhook subscriptions, the chat API, the queues, lineage and the connector list names the capability it calls', () => {
  const callsNone = ['/v1/proxy/', '/v1/admin/', '/v1/events/', '/v1/inbound/', '/v1/jobs/', '/v1/webhooks/', '/v1/ws/', '/v1/conversations', '/v1/queues', '/v1/lineage/'];
  for (const { operationId, path, op } of operations(doc)) {
    if (!path.startsWith('/v1/') || callsNone.some((prefix) => path.startsWith(prefix)) || operationId === 'listConnectors') continue;
    assert.ok(op['x-omnigate-capability'], `${operationId} has no x-omnigate-capability`);
  }
});

/** A compiled schema from the document, its local `$ref`s read against the document's components. */
function compileInDocument(schema: unknown) {
  const ajv = createAjv().addKeyword({ keyword: 'components' });
  ajv.addSchema({ $id: 'https://omnigate.dev/openapi.json', components: doc.components });
  const base = JSON.parse(JSON.stringify(schema), (k, v: unknown) => (k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `https://omnigate.dev/openapi.json${v}` : v));
  return ajv.compile(base as JsonObject);
}
const streamEvents = () => operations(doc).find((o) => o.operationId === 'streamEvents');

test("the event stream's media type schema takes each message as fuzzers parse it: an object of its SSE fields", () => {
  // Schemathesis (ST108) validates each parsed message ({ event, data, id, retry }) against `schema`.
  const media = (deref(deref(streamEvents()?.op.responses)['200']).content as JsonObject)['text/event-stream'];
  const validate = compileInDocument(deref(media).schema);
  const cloudEvent = { specversion: '1.0', id: 'e1', type: 'ticket.created', source: '/x', time: '2026-01-01T00:00:00Z' };
  for (const message of [
    { id: '1764236400000-0', event: 'ticket.created', data: JSON.stringify(cloudEvent) },
    { id: '0-0', event: 'reset', data: JSON.stringify({ lastEventId: '821-658', reason: 'the event log has no such position' }) },
    { event: 'shutdown', data: JSON.stringify({ reason: 'this gateway node is shutting down' }) },
  ]) assert.equal(validate(message), true, `${message.event}: ${JSON.stringify(validate.errors)}`);
  assert.equal(validate({ id: '1-0', event: 'reset', data: '{}', color: 'red' }), false);
});

test('the resume position parameters admit exactly the positions the stream accepts: two runs of 1 to 20 digits', () => {
  for (const name of ['lastEventId', 'Last-Event-ID']) {
    const validate = compileInDocument(streamEvents()?.parameters.find((p) => p.name === name)?.schema);
    assert.equal(validate(`${'9'.repeat(20)}-${'9'.repeat(20)}`), true, name);
    assert.equal(validate(`0-${'0'.repeat(21)}`), false, name);
    assert.equal(validate(`0-${'0'.repeat(60)}`), false, name);
  }
});

test('a request one character over every string path and query parameter still fits the 16 KiB the HTTP parser reads', () => {
  // Past Node's header limit the answer is 431 before any validation: the documented bounds must
  // stay reachable, even with each character percent-encoded from UTF-8 (up to 9 bytes: %XX%XX%XX).
  const HEADER_LIMIT_BYTES = 16_384;
  const OTHER_BYTES = 2048; // method, version, Host, the API key, User-Agent, header parameters …
  const maxChars = (schema: JsonObject): number =>
    schema.type === 'array' ? Number(schema.maxItems) * (maxChars(deref(schema.items)) + 3)
    : schema.type === 'string' ? 1 + Math.max(Number(schema.maxLength ?? 0), Number(/\{\d+,(\d+)\}\$$/.exec(String(schema.pattern ?? ''))?.[1] ?? 0), ...((schema.enum as string[] | undefined) ?? []).map((e) => e.length))
    : 20;
  for (const { operationId, path, parameters } of operations(doc)) {
    const own = parameters.filter((p) => p.in === 'path' || p.in === 'query');
    const bytes = path.length + OTHER_BYTES + own.reduce((sum, p) => sum + 9 * maxChars(deref(p.schema)), 0);
    assert.ok(bytes < HEADER_LIMIT_BYTES, `${operationId}: its longest request line is ${bytes} bytes`);
  }
});
