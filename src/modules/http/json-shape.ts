/** How deep and how large a free-form JSON value (the params of POST /v1/query) may be. */
export interface JsonShapeLimits {
  /** Levels of objects and arrays, the value itself being level 1. */
  readonly maxDepth: number;
  /** Values in all, containers included. */
  readonly maxValues: number;
}

/**
 * Why `value` is deeper or larger than `limits`, or undefined when it is not. Walks with its own
 * stack, not by recursion: the value is untrusted, and structuredClone, JSON.stringify and ajv
 * (which do recurse) only see it once it has passed here.
 */
export function jsonShapeProblem(value: unknown, limits: JsonShapeLimits): string | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  let values = 0;
  while (stack.length > 0) {
    const { value: node, depth } = stack.pop()!;
    if (++values > limits.maxValues) return `holds more than ${limits.maxValues} values`;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limits.maxDepth) return `is nested deeper than ${limits.maxDepth} levels`;
    for (const child of Object.values(node)) stack.push({ value: child, depth: depth + 1 });
  }
  return undefined;
}
