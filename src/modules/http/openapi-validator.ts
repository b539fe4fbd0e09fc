import type { NextFunction, Request, Response } from 'express';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { AppError } from '../../kernel/errors.ts';
import { operations, resolveRef } from '../../kernel/openapi.ts';
import { createAjv, toIssues } from '../../kernel/schemas.ts';

type Json = Record<string, unknown>;

interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required?: boolean;
  readonly schema?: Json;
  readonly explode?: boolean;
}

/** The request as the spec has checked it, with defaults filled and types coerced. */
export interface ValidInput {
  readonly path: Record<string, unknown>;
  readonly query: Record<string, unknown>;
  readonly body: unknown;
}

export function inputOf(res: Response): ValidInput {
  return res.locals.input as ValidInput;
}

interface Issue {
  readonly in: 'path' | 'query' | 'header' | 'body';
  readonly pointer: string;
  readonly message: string;
}

/**
 * Request validation generated from the bundled OpenAPI document: path and query parameters
 * (coerced, defaults filled, unknown query parameters refused), the header parameters it names
 * and JSON bodies. Every problem is reported at once as one VALIDATION_FAILED.
 */
export function createRequestValidator(doc: Json) {
  // Path and query values arrive as strings and are coerced by their schema; JSON bodies are not.
  const paramsAjv = createAjv({ coerceTypes: true, useDefaults: true });
  const bodyAjv = createAjv({ useDefaults: true });
  for (const ajv of [paramsAjv, bodyAjv]) {
    // OpenAPI keywords (example, discriminator, x-…) are not JSON Schema: let ajv ignore them.
    ajv.opts.strictSchema = false;
    ajv.addSchema(withoutExternal(doc), 'openapi');
  }
  const compile = (schema: Json): ValidateFunction => paramsAjv.compile(rebase(schema));
  const compileBody = (schema: Json): ValidateFunction => bodyAjv.compile(rebase(schema));
  const byOperation = new Map<string, (req: Request) => ValidInput>();

  for (const { method, path, operationId, op, parameters } of operations(doc)) {
    byOperation.set(operationId, buildCheck(`${method.toUpperCase()} ${path}`, parameters as unknown as Parameter[], bodySchema(doc, op), isBodyOptional(doc, op)));
  }

  function buildCheck(label: string, params: Parameter[], body: Json | undefined, isOptional: boolean): (req: Request) => ValidInput {
    const group = (where: 'path' | 'query' | 'header') => {
      const own = params.filter((p) => p.in === where);
      const schema: Json = {
        type: 'object',
        // Any header may come; only the query string is the operation's alone.
        additionalProperties: where !== 'query',
        required: own.filter((p) => p.required).map((p) => p.name),
        properties: Object.fromEntries(own.map((p) => [p.name, p.schema ?? {}])),
      };
      return { own, validate: compile(schema) };
    };
    const path = group('path');
    const query = group('query');
    const header = group('header');
    const validateBody = body ? compileBody(body) : undefined;

    return (req) => {
      const issues: Issue[] = [];
      const pathInput: Record<string, unknown> = { ...(req.params as Record<string, unknown>) };
      const queryInput = queryValues(req.query as Record<string, unknown>, query.own);
      if (!path.validate(pathInput)) issues.push(...toIssues(path.validate.errors).map((i) => ({ in: 'path' as const, pointer: i.pointer, message: i.message })));
      if (!query.validate(queryInput)) {
        issues.push(
          ...toIssues(query.validate.errors).map((i) => ({
            in: 'query' as const,
            pointer: i.pointer,
            message: i.message.endsWith('is not allowed') ? `${i.field} is not a parameter of ${label}` : i.message,
          })),
        );
      }
      const headerInput = headerValues(req, header.own);
      if (!header.validate(headerInput)) issues.push(...toIssues(header.validate.errors).map((i) => ({ in: 'header' as const, pointer: i.pointer, message: i.message })));
      let bodyInput: unknown = req.body;
      if (validateBody) {
        if (bodyInput === undefined) {
          if (!isOptional) issues.push({ in: 'body', pointer: '', message: 'a JSON body is required' });
        } else if (!validateBody(bodyInput)) issues.push(...toIssues(validateBody.errors).map((i) => ({ in: 'body' as const, pointer: i.pointer, message: i.message })));
      }
      if (issues.length > 0) {
        throw new AppError('VALIDATION_FAILED', issues.map((i) => `${i.in}: ${i.message}`).join('; '), { errors: issues });
      }
      return { path: pathInput, query: queryInput, body: bodyInput };
    };
  }

  /** Express middleware checking the request against one operation of the spec. */
  return function validate(operationId: string) {
    const check = byOperation.get(operationId);
    if (!check) throw new Error(`openapi: no operation ${operationId}`);
    return (req: Request, res: Response, next: NextFunction): void => {
      res.locals.input = check(req);
      next();
    };
  };
}

/** The header parameters the operation names, under the spec's spelling of their names. */
function headerValues(req: Request, params: readonly Parameter[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { name } of params) {
    const value = req.get(name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Query values as strings, arrays split on commas where the schema is an array (style form, explode false). */
function queryValues(query: Record<string, unknown>, params: readonly Parameter[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(query)) {
    const param = params.find((p) => p.name === name);
    const isArray = param?.schema?.type === 'array';
    if (isArray) out[name] = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).filter((v) => v !== '');
    else out[name] = Array.isArray(value) ? value : value;
  }
  return out;
}

function requestBodyOf(doc: Json, op: Json): Json | undefined {
  const raw = op.requestBody as Json | undefined;
  return typeof raw?.$ref === 'string' ? (resolveRef(doc, raw.$ref) as Json | undefined) : raw;
}

/** `requestBody.required: false`: a request without a body is valid (one with a body is still checked). */
function isBodyOptional(doc: Json, op: Json): boolean {
  return requestBodyOf(doc, op)?.required === false;
}

function bodySchema(doc: Json, op: Json): Json | undefined {
  const requestBody = requestBodyOf(doc, op);
  const content = requestBody?.content as Record<string, { schema?: Json }> | undefined;
  return content?.['application/json']?.schema;
}

/** Local refs in an operation's schemas point into the document, which ajv knows as `openapi`. */
function rebase(schema: Json): Json {
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) =>
    key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `openapi${value}` : value,
  ) as Json;
}

/** The document minus what ajv must not read as schema (paths hold `$ref`s to parameters, not schemas). */
function withoutExternal(doc: Json): Json {
  return { components: { schemas: (doc.components as Json | undefined)?.schemas ?? {} } };
}
