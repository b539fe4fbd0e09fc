import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export const SCHEMA_BASE = 'https://omnigate.dev/schemas/';

/** The longest email address (RFC 5321 path limit). */
export const MAX_EMAIL_LENGTH = 254;
const EMAIL = fullFormats.email as RegExp;

/**
 * Whether a string is an email as the schemas check `format: email` (ajv-formats' full mode:
 * ASCII, a dot in the domain), within MAX_EMAIL_LENGTH. Code that takes an email some other way
 * (a WebSocket command, a bot's message) checks it with this, so that what it accepts is never
 * refused later by a schema, after a write (the Requester's, on the tickets system's echo).
 */
export function isEmail(value: string): boolean {
  return value.length <= MAX_EMAIL_LENGTH && EMAIL.test(value);
}

/** A failed validation, with a dotted field path for humans (`lines[0].unitPrice.amount`). */
export interface SchemaIssue {
  readonly field: string;
  readonly pointer: string;
  readonly message: string;
}

/** The canonical schemas of schemas/, compiled once. */
export interface SchemaRegistry {
  readonly ajv: Ajv2020;
  /** Raw schema documents by file name (`order.schema.json`). */
  readonly documents: ReadonlyMap<string, Record<string, unknown>>;
  /** Validator for `Customer`, `Order`, `Ticket`, `Requester`, `Product` or `Page<X>`. */
  validatorFor(result: string): ValidateFunction;
}

export function createAjv(options: { coerceTypes?: boolean; useDefaults?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, ...options });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
  return ajv;
}

export function loadSchemaDocuments(dir: string): Map<string, Record<string, unknown>> {
  const documents = new Map<string, Record<string, unknown>>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort()) {
    documents.set(file, JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>);
  }
  return documents;
}

export function createSchemaRegistry(dir: string): SchemaRegistry {
  const ajv = createAjv();
  const documents = loadSchemaDocuments(dir);
  for (const doc of documents.values()) ajv.addSchema(doc);
  const validators = new Map<string, ValidateFunction>();

  function validatorFor(result: string): ValidateFunction {
    const cached = validators.get(result);
    if (cached) return cached;
    const page = /^Page<(\w+)>$/.exec(result);
    const entity = (page?.[1] ?? result).toLowerCase();
    const ref = `${SCHEMA_BASE}${entity}.schema.json`;
    if (!ajv.getSchema(ref)) throw new Error(`no canonical schema for ${result}`);
    const schema = page
      ? {
          type: 'object',
          required: ['items', 'page'],
          additionalProperties: false,
          properties: {
            items: { type: 'array', items: { $ref: ref } },
            page: { $ref: `${SCHEMA_BASE}query-envelope.schema.json#/$defs/PageInfo` },
          },
        }
      : { $ref: ref };
    const validate = ajv.compile(schema);
    validators.set(result, validate);
    return validate;
  }

  return { ajv, documents, validatorFor };
}

/**
 * Turns ajv's errors into issues with a readable field path, minus the noise of a schema's
 * structure: an `if`'s "must match then/else" (the branch's own errors say what is wrong), and a
 * union of types (`anyOf` of `{type}`s) is one issue naming the types, not one per branch.
 */
export function toIssues(errors: readonly ErrorObject[] | null | undefined): SchemaIssue[] {
  return readable(errors ?? []).map((e) => {
    const extra =
      e.keyword === 'required' ? `/${String(e.params.missingProperty)}`
      : e.keyword === 'additionalProperties' ? `/${String(e.params.additionalProperty)}`
      : '';
    const pointer = `${e.instancePath}${extra}`;
    const field = pointerToField(pointer);
    const message = e.keyword === 'required' ? 'is missing' : e.keyword === 'additionalProperties' ? 'is not allowed' : (e.message ?? 'is invalid');
    return { field, pointer, message: `${field || '(value)'} ${message}` };
  });
}

function readable(errors: readonly ErrorObject[]): ErrorObject[] {
  const branchesOf = (union: ErrorObject) => errors.filter((e) => e.instancePath === union.instancePath && e.schemaPath.startsWith(`${union.schemaPath}/`));
  const typeUnions = errors.filter((e) => e.keyword === 'anyOf' && branchesOf(e).every((b) => b.keyword === 'type'));
  const collapsed = new Set(typeUnions.flatMap(branchesOf));
  return errors
    .filter((e) => e.keyword !== 'if' && !collapsed.has(e))
    .map((e) => (typeUnions.includes(e) ? { ...e, message: `must be one of: ${branchesOf(e).map((b) => String(b.params.type)).join(', ')}` } : e));
}

export function pointerToField(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}
