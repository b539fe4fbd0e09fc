import { isObject, type JsonObject } from '../../kernel/openapi.ts';

/** A capability as a loaded connector declares it: what POST /v1/query accepts for it. */
export interface DeclaredCapability {
  readonly name: string;
  /** The JSON Schema of its params, from the connector's manifest. */
  readonly params: JsonObject;
  /** Who declares it (`connector@version`): the served document is rebuilt when this changes. */
  readonly declaredBy: string;
}

/** The loaded connectors' capabilities, read at each request (they change with installs and reloads). */
export type CapabilitiesSource = () => readonly DeclaredCapability[];

const QUERY_PATH = '/v1/query';

/** A params schema that refers to itself (`$ref`) cannot be moved into the document as it is. */
const hasRef = (value: unknown): boolean =>
  Array.isArray(value) ? value.some(hasRef) : isObject(value) && ('$ref' in value || Object.values(value).some(hasRef));

const acceptsNoParams = (params: JsonObject): boolean => !Array.isArray(params.required) || params.required.length === 0;

/**
 * The document with POST /v1/query's body narrowed to a `oneOf` of the declared capabilities,
 * each `{ capability: const, params: its schema }`: the static openapi.yaml can only say "an
 * object", as each capability's params are known at run time. Unchanged when none is declared.
 */
export function narrowQueryRequest(doc: JsonObject, capabilities: readonly DeclaredCapability[]): JsonObject {
  if (capabilities.length === 0) return doc;
  const narrowed = structuredClone(doc);
  const media = ((((narrowed.paths as JsonObject)[QUERY_PATH] as JsonObject).post as JsonObject).requestBody as JsonObject).content as JsonObject;
  const json = media['application/json'] as JsonObject;
  const seen = new Set<string>();
  const oneOf: JsonObject[] = [];
  for (const { name, params } of capabilities) {
    // The registry routes a capability to one connector; the first declaration stands for it.
    if (seen.has(name)) continue;
    seen.add(name);
    const own = hasRef(params) ? { type: 'object' } : params;
    oneOf.push({
      type: 'object',
      required: acceptsNoParams(own) ? ['capability'] : ['capability', 'params'],
      additionalProperties: false,
      properties: { capability: { const: name }, params: own },
    });
  }
  json.schema = {
    description: 'One of the capabilities the loaded connectors declare, with its params (this gateway, now).',
    oneOf,
  };
  return narrowed;
}

/**
 * The body of GET /openapi.json for the capabilities declared now: rebuilt only when who
 * declares them changes (an install, reload, rollback or removal), else served from memory.
 */
export function createServedSpec(doc: JsonObject, capabilities: CapabilitiesSource | undefined): () => string {
  let cached: { key: string; body: string } | undefined;
  return () => {
    const declared = capabilities?.() ?? [];
    const key = declared.map((c) => `${c.name}=${c.declaredBy}`).join(',');
    if (cached?.key !== key) cached = { key, body: JSON.stringify(narrowQueryRequest(doc, declared)) };
    return cached.body;
  };
}
