import assert from 'node:assert/strict';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { loadOpenApi, operations, resolveRef, type JsonObject } from '../../src/kernel/openapi.ts';
import { createAjv, toIssues } from '../../src/kernel/schemas.ts';
import { ROOT_DIR } from './gateway.ts';

const doc = loadOpenApi(ROOT_DIR);
const ajv = createAjv();
ajv.opts.strictSchema = false;
ajv.addSchema({ components: { schemas: (doc.components as JsonObject).schemas } }, 'openapi');
const byId = new Map(operations(doc).map((o) => [o.operationId, o.op]));
const cache = new Map<string, ValidateFunction>();

/**
 * Asserts that an answer is one the OpenAPI document promises for this operation: its status is
 * documented and its JSON body matches that response's schema. Keeps the docs true to the code.
 */
export async function assertMatchesSpec(res: Response, operationId: string): Promise<any> {
  const op = byId.get(operationId);
  assert.ok(op, `no operation ${operationId} in openapi`);
  const responses = op.responses as Record<string, JsonObject>;
  const key = String(res.status);
  let response = responses[key] ?? responses[`${key[0]}XX`] ?? responses.default;
  assert.ok(response, `${operationId} does not document status ${res.status}`);
  if (typeof response.$ref === 'string') response = resolveRef(doc, response.$ref) as JsonObject;
  const content = (response.content ?? {}) as Record<string, { schema?: JsonObject }>;
  const type = (res.headers.get('content-type') ?? '').split(';')[0] ?? '';
  const body = await res.clone().json();
  const schema = content[type]?.schema;
  assert.ok(schema, `${operationId} ${res.status} does not document ${type}`);
  const cacheKey = `${operationId} ${key} ${type}`;
  let validate = cache.get(cacheKey);
  if (!validate) {
    validate = ajv.compile(JSON.parse(JSON.stringify(schema), (k, v: unknown) => (k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `openapi${v}` : v)));
    cache.set(cacheKey, validate);
  }
  assert.ok(validate(body), `${operationId} ${res.status} breaks the spec: ${toIssues(validate.errors).map((i) => i.message).join('; ')}`);
  return body;
}

const sseMessages = new Map<string, ValidateFunction>();

/** A schema with every `{ contentMediaType: application/json, contentSchema }` string replaced by its contentSchema. */
const parsedContent = (schema: unknown, base: string): JsonObject =>
  JSON.parse(JSON.stringify(schema), (k, v: unknown) => {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/')) return `${base}${v}`;
    const node = v as JsonObject;
    return node && typeof node === 'object' && node.contentMediaType === 'application/json' && node.contentSchema ? node.contentSchema : v;
  }) as JsonObject;

/**
 * Asserts that one message of an SSE operation (GET /v1/events/stream unless named) is one the
 * document describes (the `schema` of its text/event-stream, one message): `data` is parsed as the
 * JSON its `contentSchema` names.
 */
export function assertSseMessageMatchesSpec(message: { readonly id?: string; readonly event?: string; readonly data: string }, operationId = 'streamEvents'): void {
  let sseMessage = sseMessages.get(operationId);
  if (!sseMessage) {
    const responses = byId.get(operationId)?.responses as Record<string, JsonObject> | undefined;
    const media = ((responses?.['200']?.content ?? {}) as Record<string, JsonObject>)['text/event-stream'];
    assert.ok(media?.schema, `${operationId} does not describe its messages (schema)`);
    const sseAjv = createAjv();
    sseAjv.opts.strictSchema = false;
    sseAjv.addSchema({ components: { schemas: parsedContent((doc.components as JsonObject).schemas, 'sse') } }, 'sse');
    sseMessage = sseAjv.compile(parsedContent(media.schema, 'sse'));
    sseMessages.set(operationId, sseMessage);
  }
  const value = { ...message, data: JSON.parse(message.data) as unknown };
  assert.ok(sseMessage(value), `the SSE message breaks the spec: ${toIssues(sseMessage.errors).map((i) => `${i.pointer} ${i.message}`).join('; ')}`);
}
