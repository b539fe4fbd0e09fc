import { BUSINESS_KEY_PATH_PATTERN, BUSINESS_KEY_SYSTEM_PATTERN, BUSINESS_KEY_TYPE_PATTERN, MAX_BUSINESS_KEY_DECLARATIONS } from '../../sdk/business-key-path.ts';

/** The shape every connector manifest must have; checked with ajv before anything of it runs. */
export const MANIFEST_SCHEMA = {
  type: 'object',
  required: ['name', 'version', 'system', 'description', 'capabilities', 'configSchema'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' },
    version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?$' },
    system: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
    description: { type: 'string', minLength: 1 },
    capabilities: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'kind', 'description', 'params', 'result'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: '^[a-z][a-z0-9-]*\\.[a-z][a-z0-9-]*$' },
          kind: { enum: ['query', 'command'] },
          description: { type: 'string', minLength: 1 },
          params: { type: 'object' },
          result: { type: 'string', pattern: '^(Customer|Order|Ticket|Requester|Product|Page<(Customer|Order|Ticket|Requester|Product)>)$' },
          // The result's fields that name business records, for lineage (sdk/business-key-path.ts).
          businessKeys: {
            type: 'array',
            maxItems: MAX_BUSINESS_KEY_DECLARATIONS,
            items: {
              type: 'object',
              required: ['type', 'path'],
              additionalProperties: false,
              properties: {
                type: { type: 'string', pattern: BUSINESS_KEY_TYPE_PATTERN },
                path: { type: 'string', maxLength: 200, pattern: BUSINESS_KEY_PATH_PATTERN },
                system: { type: 'string', pattern: BUSINESS_KEY_SYSTEM_PATTERN },
              },
            },
          },
        },
      },
    },
    configSchema: {
      type: 'object',
      required: ['type', 'properties'],
      properties: { type: { const: 'object' }, properties: { type: 'object', required: ['baseUrl'] } },
    },
    events: {
      type: 'object',
      required: ['types'],
      additionalProperties: false,
      properties: {
        types: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*$' } },
        pollIntervalMs: { type: 'integer', minimum: 100, maximum: 3_600_000 },
      },
    },
    proxy: {
      type: 'object',
      required: ['allow'],
      additionalProperties: false,
      properties: {
        allow: {
          type: 'array',
          items: {
            type: 'object',
            required: ['methods', 'path'],
            additionalProperties: false,
            properties: {
              methods: { type: 'array', minItems: 1, items: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] } },
              path: { type: 'string', pattern: '^/' },
              // JSON-RPC methods the rule opens; the proxy then checks the body's every call.
              rpcMethods: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1 } },
            },
          },
        },
      },
    },
  },
} as const;
