import { createAjv } from '../kernel/schemas.ts';

/**
 * One area's environment variables, checked against its JSON Schema: the variables the schema
 * names (an empty one counts as unset), coerced and with defaults filled in, or every problem
 * found, each naming its variable (`messages` overrides ajv's wording for a variable).
 */
export function readEnvArea(
  env: NodeJS.ProcessEnv,
  schema: { readonly properties: Readonly<Record<string, unknown>> },
  messages: Readonly<Record<string, string>> = {},
): { readonly raw: Record<string, unknown>; readonly problems: string[] } {
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(schema.properties)) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const validate = createAjv({ coerceTypes: true, useDefaults: true }).compile(schema);
  if (validate(raw)) return { raw, problems: [] };
  const problems = (validate.errors ?? []).map((e) => {
    const name = e.keyword === 'required' ? String(e.params.missingProperty) : e.instancePath.slice(1);
    return `${name} ${messages[name] ?? e.message ?? 'is invalid'}${e.keyword === 'required' ? ' (it is required)' : ''}`;
  });
  return { raw, problems: [...new Set(problems)] };
}
