import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadSchemaDocuments } from './schemas.ts';

/** A JSON object: an OpenAPI document or any part of it. */
export type JsonObject = Record<string, unknown>;

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** One operation of the document, for building routes and request validators from it. */
export interface OperationEntry {
  readonly method: HttpMethod;
  /** The OpenAPI path template (`/v1/customers/{id}`). */
  readonly path: string;
  readonly operationId: string;
  readonly op: JsonObject;
  /** Path-level and operation-level parameters, `$ref`s resolved; the operation's win. */
  readonly parameters: readonly JsonObject[];
}

/** One row of the document's `x-error-codes` table. */
export interface DocumentedErrorCode {
  readonly status: number;
  readonly retryable: boolean;
  readonly title: string;
  readonly description?: string;
}

const SCHEMAS_POINTER = '#/components/schemas/';
// A schema file whose root holds nothing but these only carries `$defs`; it is not a schema itself.
const ANNOTATIONS = new Set(['title', 'description', '$comment']);

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads openapi/openapi.yaml and schemas/*.schema.json under `rootDir` and returns one
 * self-contained OpenAPI 3.1 document (see `bundleOpenApi`).
 */
export function loadOpenApi(rootDir: string): JsonObject {
  const spec: unknown = parse(readFileSync(join(rootDir, 'openapi', 'openapi.yaml'), 'utf8'));
  if (!isObject(spec)) throw new Error('openapi/openapi.yaml is not a mapping');
  return bundleOpenApi(spec, loadSchemaDocuments(join(rootDir, 'schemas')));
}

/**
 * Inlines the canonical schema files into `components.schemas`: each file under its `title`
 * (without `$id`/`$schema`), each `$defs` entry hoisted under its own key, and every `$ref` to a
 * file rewritten to the component. Also renders `x-error-codes` as a table in `info.description`.
 * Pure: the inputs are not modified.
 */
export function bundleOpenApi(spec: JsonObject, documents: ReadonlyMap<string, JsonObject>): JsonObject {
  const titleOf = (file: string): string => {
    const title = documents.get(file)?.title;
    if (typeof title !== 'string') throw new Error(`no schema file ${file} with a title`);
    return title;
  };
  const target = (file: string, fragment: string): string => {
    const def = /^\/\$defs\/([^/]+)(.*)$/.exec(fragment);
    return def ? `${SCHEMAS_POINTER}${def[1]}${def[2]}` : `${SCHEMAS_POINTER}${titleOf(file)}${fragment}`;
  };
  // `inFile` is the schema file a ref appears in: its local refs (`#/$defs/Source`) point into it.
  const rewrite = (ref: string, inFile?: string): string => {
    const [url = '', fragment = ''] = ref.split('#', 2);
    if (url === '') return inFile === undefined ? ref : target(inFile, fragment);
    return target(url.slice(url.lastIndexOf('/') + 1), fragment);
  };

  const canonical = new Map<string, unknown>();
  const addCanonical = (name: string, schema: unknown): void => {
    if (canonical.has(name)) throw new Error(`two canonical schemas are named ${name}`);
    canonical.set(name, schema);
  };
  for (const [file, doc] of documents) {
    const { $defs, ...root } = omit(doc, ['$id', '$schema']);
    for (const [name, def] of Object.entries(isObject($defs) ? $defs : {})) addCanonical(name, mapRefs(def, (r) => rewrite(r, file)));
    if (Object.keys(root).some((key) => !ANNOTATIONS.has(key))) addCanonical(titleOf(file), mapRefs(root, (r) => rewrite(r, file)));
  }

  const bundled = mapRefs(spec, (r) => rewrite(r)) as JsonObject;
  const components = isObject(bundled.components) ? bundled.components : {};
  const schemas: JsonObject = {};
  for (const [name, schema] of Object.entries(isObject(components.schemas) ? components.schemas : {})) {
    // `Customer: { $ref: '../schemas/customer.schema.json' }` names where the canonical one goes.
    const isPlaceholder = isObject(schema) && Object.keys(schema).length === 1 && schema.$ref === `${SCHEMAS_POINTER}${name}`;
    if (!isPlaceholder && canonical.has(name)) throw new Error(`components.schemas.${name} clashes with a canonical schema`);
    schemas[name] = isPlaceholder ? canonical.get(name) : schema;
    if (schemas[name] === undefined) throw new Error(`components.schemas.${name} names no canonical schema`);
  }
  for (const [name, schema] of canonical) if (!(name in schemas)) schemas[name] = schema;

  const info = isObject(bundled.info) ? bundled.info : {};
  const description = [info.description, errorCodeTable(errorCodes(bundled))].filter(Boolean).join('\n\n');
  return { ...bundled, info: { ...info, description }, components: { ...components, schemas } };
}

/** The document's `x-error-codes` table, by code. */
export function errorCodes(doc: JsonObject): Record<string, DocumentedErrorCode> {
  const codes = doc['x-error-codes'];
  return isObject(codes) ? (codes as Record<string, DocumentedErrorCode>) : {};
}

/** Every operation of the document, in document order. */
export function operations(doc: JsonObject): OperationEntry[] {
  const entries: OperationEntry[] = [];
  for (const [path, item] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
    if (!isObject(item)) continue;
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      if (typeof op.operationId !== 'string') throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      const byKey = new Map<string, JsonObject>();
      for (const param of [...asArray(item.parameters), ...asArray(op.parameters)]) {
        const resolved = deref(doc, param);
        byKey.set(`${String(resolved.in)}:${String(resolved.name)}`, resolved);
      }
      entries.push({ method, path, operationId: op.operationId, op, parameters: [...byKey.values()] });
    }
  }
  return entries;
}

/** The value a local `$ref` (`#/components/...`) points at, or undefined. */
export function resolveRef(doc: JsonObject, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const parts = ref.slice(1).split('/').slice(1).map((p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = doc;
  for (const part of parts) node = isObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[part] : undefined;
  return node;
}

function deref(doc: JsonObject, value: unknown): JsonObject {
  const seen = new Set<string>();
  let node = value;
  while (isObject(node) && typeof node.$ref === 'string') {
    if (seen.has(node.$ref)) throw new Error(`circular $ref ${node.$ref}`);
    seen.add(node.$ref);
    node = resolveRef(doc, node.$ref);
  }
  if (!isObject(node)) throw new Error('a parameter is not an object or its $ref does not resolve');
  return node;
}

function mapRefs(value: unknown, rewrite: (ref: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => mapRefs(item, rewrite));
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, key === '$ref' && typeof v === 'string' ? rewrite(v) : mapRefs(v, rewrite)]),
  );
}

function errorCodeTable(codes: Record<string, DocumentedErrorCode>): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = Object.entries(codes).map(
    ([code, e]) => `| \`${code}\` | ${e.status} | ${e.retryable ? 'yes' : 'no'} | ${cell(e.title)}${e.description ? `. ${cell(e.description)}` : ''} |`,
  );
  return rows.length === 0 ? '' : ['### Error codes', '', '| Code | Status | Retryable | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function omit(object: JsonObject, keys: readonly string[]): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
}
