import type { CapabilityDeclaration } from './types.ts';

/** A business key's `path`: dotted fields, `[]` after a field steps into each element of its array (`id`, `lines[].sku`). */
export const BUSINESS_KEY_PATH_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]*(\\[\\])?(\\.[A-Za-z_][A-Za-z0-9_-]*(\\[\\])?)*$';
/** A business key's `type`: lowercase kebab-case (`order`, `customer`, `support-case`). */
export const BUSINESS_KEY_TYPE_PATTERN = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$';
/** A business key's `system`: as a manifest's `system`. */
export const BUSINESS_KEY_SYSTEM_PATTERN = '^[a-z][a-z0-9-]*$';
/** At most this many business keys per capability. */
export const MAX_BUSINESS_KEY_DECLARATIONS = 16;

/** One step of a business key path: a field, and whether its value is an array to step into. */
export interface BusinessKeyStep {
  readonly field: string;
  readonly each: boolean;
}

const PATH = new RegExp(BUSINESS_KEY_PATH_PATTERN);
const TYPE = new RegExp(BUSINESS_KEY_TYPE_PATTERN);
const SYSTEM = new RegExp(BUSINESS_KEY_SYSTEM_PATTERN);

/** The steps of a business key path (`lines[].sku` → lines (each), sku), or undefined when it is not one. */
export function parseBusinessKeyPath(path: string): BusinessKeyStep[] | undefined {
  if (typeof path !== 'string' || path.length > 200 || !PATH.test(path)) return undefined;
  return path.split('.').map((part) => (part.endsWith('[]') ? { field: part.slice(0, -2), each: true } : { field: part, each: false }));
}

/** What is wrong with a capability's `businessKeys`, one message per problem (empty when none). */
export function businessKeyProblems(capability: Pick<CapabilityDeclaration, 'name' | 'businessKeys'>): string[] {
  const declared: unknown = capability.businessKeys;
  if (declared === undefined) return [];
  const where = `capability ${capability.name}`;
  if (!Array.isArray(declared)) return [`${where}: businessKeys must be an array`];
  if (declared.length > MAX_BUSINESS_KEY_DECLARATIONS) return [`${where}: at most ${MAX_BUSINESS_KEY_DECLARATIONS} businessKeys`];
  const problems: string[] = [];
  const seen = new Set<string>();
  declared.forEach((key: unknown, i) => {
    const at = `${where}: businessKeys[${i}]`;
    if (typeof key !== 'object' || key === null) {
      problems.push(`${at} must be an object {type, path, system?}`);
      return;
    }
    const { type, path, system } = key as Record<string, unknown>;
    if (typeof type !== 'string' || !TYPE.test(type)) problems.push(`${at}.type must be lowercase kebab-case (order, customer), not ${JSON.stringify(type)}`);
    if (typeof path !== 'string' || parseBusinessKeyPath(path) === undefined) problems.push(`${at}.path must be dotted fields with [] for arrays (id, lines[].sku), not ${JSON.stringify(path)}`);
    if (system !== undefined && (typeof system !== 'string' || !SYSTEM.test(system))) problems.push(`${at}.system must be a system name (orders, crm), not ${JSON.stringify(system)}`);
    const identity = JSON.stringify([type, path, system ?? null]);
    if (seen.has(identity)) problems.push(`${at} is declared twice`);
    seen.add(identity);
  });
  return problems;
}
