import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { AppError } from '../../../kernel/errors.ts';
import { isObject, type JsonObject } from '../../../kernel/openapi.ts';
import { createAjv } from '../../../kernel/schemas.ts';
import type { ClientFrame } from './frames.ts';

/** The AsyncAPI document of the chat socket, beside the OpenAPI one. */
export const ASYNCAPI_FILE = join('openapi', 'asyncapi.yaml');

const SCHEMAS_POINTER = '#/components/schemas/';
const DEFS_ID = 'urn:omnigate:asyncapi';

/** The chat protocol as the AsyncAPI document declares it, compiled once. */
export interface Protocol {
  /** Frame types a client may send (the `receive` operation's messages). */
  readonly clientTypes: ReadonlySet<string>;
  /** Frame types the gateway sends (the `send` operation's messages). */
  readonly serverTypes: ReadonlySet<string>;
  /** Close codes the document lists, with the catalogue code each stands for. */
  readonly closeCodes: ReadonlyMap<number, string>;
  /** Parses and validates one incoming text frame; throws MALFORMED_JSON or VALIDATION_FAILED (with the frame's id if it had one). */
  parseClientFrame(text: string): ClientFrame;
  /** Validates a frame the gateway sends (tests): the list of problems, empty when it is valid. */
  checkServerFrame(frame: unknown): string[];
}

/** Reads openapi/asyncapi.yaml under `rootDir`. */
export function loadAsyncApi(rootDir: string): JsonObject {
  const doc: unknown = parse(readFileSync(join(rootDir, ASYNCAPI_FILE), 'utf8'));
  if (!isObject(doc)) throw new Error(`${ASYNCAPI_FILE} is not a mapping`);
  return doc;
}

/** Resolves a local `$ref` (`#/a/b`) in the document. */
function resolveLocal(doc: JsonObject, ref: string): JsonObject {
  let node: unknown = doc;
  for (const part of ref.replace(/^#\//, '').split('/')) node = isObject(node) ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  if (!isObject(node)) throw new Error(`${ASYNCAPI_FILE}: $ref ${ref} resolves to nothing`);
  return isObject(node) && typeof node.$ref === 'string' ? resolveLocal(doc, node.$ref) : node;
}

/** The messages of the operation with this action, as `{ name, schemaName }`. */
export function operationMessages(doc: JsonObject, action: 'send' | 'receive'): { name: string; schema: string }[] {
  const operations = Object.values(isObject(doc.operations) ? doc.operations : {}).filter((op) => isObject(op) && op.action === action) as JsonObject[];
  return operations.flatMap((op) =>
    (op.messages as { $ref: string }[]).map((ref) => {
      const message = resolveLocal(doc, ref.$ref);
      const payload = message.payload as { $ref?: string } | undefined;
      if (typeof message.name !== 'string' || typeof payload?.$ref !== 'string' || !payload.$ref.startsWith(SCHEMAS_POINTER)) {
        throw new Error(`${ASYNCAPI_FILE}: message ${ref.$ref} needs a name and a payload $ref to ${SCHEMAS_POINTER}`);
      }
      return { name: message.name, schema: payload.$ref.slice(SCHEMAS_POINTER.length) };
    }),
  );
}

/**
 * Compiles every frame's schema from the AsyncAPI document (its components.schemas become one
 * ajv schema's $defs), so the document is what validates frames, not a copy of it.
 */
export function createProtocol(doc: JsonObject): Protocol {
  const schemas = (doc.components as { schemas?: JsonObject } | undefined)?.schemas;
  if (!isObject(schemas)) throw new Error(`${ASYNCAPI_FILE} has no components.schemas`);
  const ajv = createAjv();
  ajv.addSchema({ $id: DEFS_ID, $defs: JSON.parse(JSON.stringify(schemas).replaceAll(`"${SCHEMAS_POINTER}`, '"#/$defs/')) as JsonObject });
  const compile = (messages: { name: string; schema: string }[]) =>
    new Map<string, ValidateFunction>(messages.map((m) => [m.name, ajv.compile({ $ref: `${DEFS_ID}#/$defs/${m.schema}` })]));
  const incoming = compile(operationMessages(doc, 'receive'));
  const outgoing = compile(operationMessages(doc, 'send'));
  const declared = isObject(doc.info) && isObject(doc.info['x-close-codes']) ? doc.info['x-close-codes'] : {};
  const closeCodes = new Map(Object.entries(declared).map(([code, name]) => [Number(code), String(name)]));

  const problems = (validate: ValidateFunction): string[] =>
    (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : ''}`);

  return {
    clientTypes: new Set(incoming.keys()),
    serverTypes: new Set(outgoing.keys()),
    closeCodes,
    parseClientFrame(text) {
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        throw new AppError('MALFORMED_JSON', 'the frame is not valid JSON');
      }
      const id = isObject(frame) && typeof frame.id === 'string' && frame.id.length <= 100 ? frame.id : undefined;
      const withId = id === undefined ? {} : { id };
      const type = isObject(frame) ? frame.type : undefined;
      const validate = typeof type === 'string' ? incoming.get(type) : undefined;
      if (!validate) {
        throw new AppError('VALIDATION_FAILED', `a frame is an object whose type is one of ${[...incoming.keys()].join(', ')}`, withId);
      }
      if (!validate(frame)) {
        const errors = problems(validate);
        throw new AppError('VALIDATION_FAILED', `the ${type as string} frame is not valid: ${errors.join('; ')}`, { ...withId, errors });
      }
      return frame as ClientFrame;
    },
    checkServerFrame(frame) {
      const type = isObject(frame) ? frame.type : undefined;
      const validate = typeof type === 'string' ? outgoing.get(type) : undefined;
      if (!validate) return [`no server frame of type ${String(type)}`];
      return validate(frame) ? [] : problems(validate);
    },
  };
}
