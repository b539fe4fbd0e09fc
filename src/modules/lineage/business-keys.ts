import { parseBusinessKeyPath, type BusinessKeyStep } from '../../sdk/business-key-path.ts';
import type { BusinessKeyDeclaration, CapabilityDeclaration } from '../../sdk/types.ts';
import type { BusinessKey } from './lineage.types.ts';

/** At most this many keys are taken from one call (a page of 100 orders of 5 lines each stops here). */
export const MAX_BUSINESS_KEYS = 200;
/** A value longer than this is not an id: skipped. */
export const MAX_BUSINESS_KEY_ID_LENGTH = 256;

/**
 * The business records one call read or wrote, as the capability's `businessKeys` name them:
 * first those named by the params (a declared key whose path is one plain field, `id` or
 * `customerRef`, also names a record when a param of that name is given, so a call that failed
 * still has its key), then those found in the result — in each item of a `Page<…>` result
 * (`{items: […]}`), else in the result itself; `[]` steps into every element of an array
 * (`lines[].sku`). Values that are missing, not strings, empty or longer than
 * {@link MAX_BUSINESS_KEY_ID_LENGTH} are skipped; keys are deduped by (system, type, id), in
 * first-seen order, and at most {@link MAX_BUSINESS_KEYS} are returned.
 *
 * @param system the connector's `manifest.system`: the keys' system unless a declaration names another.
 */
export function businessKeysOf(
  system: string,
  declaration: Pick<CapabilityDeclaration, 'businessKeys' | 'result'>,
  result: unknown,
  params?: Record<string, unknown>,
): BusinessKey[] {
  const declared = compile(declaration.businessKeys);
  if (declared.length === 0) return [];
  const keys = new Map<string, BusinessKey>();
  const full = (): boolean => keys.size >= MAX_BUSINESS_KEYS;
  const add = (key: BusinessKeyDeclaration, value: unknown): void => {
    if (full() || typeof value !== 'string' || value.length === 0 || value.length > MAX_BUSINESS_KEY_ID_LENGTH) return;
    const found: BusinessKey = { system: key.system ?? system, type: key.type, id: value };
    const identity = `${found.system}\u0000${found.type}\u0000${found.id}`;
    if (!keys.has(identity)) keys.set(identity, found);
  };

  if (isRecord(params)) {
    for (const { key, steps } of declared) {
      const only = steps.length === 1 ? steps[0] : undefined;
      if (only && !only.each) add(key, own(params, only.field));
    }
  }
  const items = declaration.result.startsWith('Page<') ? pageItems(result) : [result];
  for (const item of items) {
    for (const { key, steps } of declared) walk(item, steps, 0, (value) => add(key, value), full);
    if (full()) break;
  }
  return [...keys.values()];
}

interface Compiled {
  readonly key: BusinessKeyDeclaration;
  readonly steps: readonly BusinessKeyStep[];
}

/** The declarations with a valid path (the registry refuses others; skipped here all the same). */
function compile(declared: readonly BusinessKeyDeclaration[] | undefined): Compiled[] {
  const compiled: Compiled[] = [];
  for (const key of declared ?? []) {
    const steps = parseBusinessKeyPath(key.path);
    if (steps && typeof key.type === 'string') compiled.push({ key, steps });
  }
  return compiled;
}

function pageItems(result: unknown): readonly unknown[] {
  const items = isRecord(result) ? own(result, 'items') : undefined;
  return Array.isArray(items) ? items : [];
}

function walk(value: unknown, steps: readonly BusinessKeyStep[], at: number, found: (value: unknown) => void, full: () => boolean): void {
  if (full()) return;
  if (at === steps.length) {
    found(value);
    return;
  }
  const step = steps[at]!;
  const next = isRecord(value) ? own(value, step.field) : undefined;
  if (!step.each) {
    walk(next, steps, at + 1, found, full);
    return;
  }
  if (!Array.isArray(next)) return;
  for (const element of next) {
    walk(element, steps, at + 1, found, full);
    if (full()) return;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field of the object itself, never of its prototype (`constructor`, `__proto__`). */
function own(value: Record<string, unknown>, field: string): unknown {
  return Object.hasOwn(value, field) ? value[field] : undefined;
}
