import type { ProxyRule } from '../../sdk/types.ts';
import { parseStrictJson } from './strict-json.ts';

/** `/api/orders/*` → a RegExp: `*` is one path segment, `**` the rest of the path. */
export function compileRule(rule: ProxyRule): { methods: ReadonlySet<string>; pattern: RegExp } {
  const source = rule.path
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return { methods: new Set(rule.methods.map((m) => m.toUpperCase())), pattern: new RegExp(`^${source}$`) };
}

/** The rules of a manifest that open this method and path (before any look at the body). */
function matchingRules(rules: readonly ProxyRule[], method: string, path: string): ProxyRule[] {
  // Refuse dot segments, raw or percent-encoded, and encoded slashes: a backend may decode them.
  const segments = path.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return '..';
    }
  });
  if (segments.some((segment) => segment === '..' || segment === '.' || segment.includes('/') || segment.includes('\\'))) return [];
  return rules.filter((rule) => {
    const compiled = compileRule(rule);
    return compiled.methods.has(method.toUpperCase()) && compiled.pattern.test(path);
  });
}

/** True when a connector's manifest opens this method and path through the proxy (body aside). */
export function isAllowed(rules: readonly ProxyRule[], method: string, path: string): boolean {
  return matchingRules(rules, method, path).length > 0;
}

/** A request as the proxy checks it: the body is the exact buffer it will forward. */
export interface ProxyRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Buffer | undefined;
}

/** Why the manifest keeps this request out of the proxy, or undefined when a rule lets it through. */
export function refusalOf(rules: readonly ProxyRule[], request: ProxyRequest): string | undefined {
  const { method, path, body } = request;
  const matching = matchingRules(rules, method, path);
  if (matching.length === 0) return `${method} ${path} is not open`;
  if (matching.some((rule) => rule.rpcMethods === undefined)) return undefined;
  const open = new Set(matching.flatMap((rule) => rule.rpcMethods ?? []));
  const called = rpcMethodsOf(body);
  if (typeof called === 'string') return `${method} ${path} is open to named JSON-RPC methods only, and ${called}`;
  const closed = called.find((name) => !open.has(name));
  return closed === undefined ? undefined : `the JSON-RPC method ${closed} is not open on ${path}`;
}

/** The `method` of every call in a JSON-RPC request or batch, or why they cannot be told. */
function rpcMethodsOf(body: Buffer | undefined): string[] | string {
  if (!body || body.length === 0) return 'the request has no body';
  let message: unknown;
  try {
    message = parseStrictJson(body);
  } catch (err) {
    return `the body is not strict JSON (${(err as Error).message})`;
  }
  const calls = Array.isArray(message) ? message : [message];
  if (calls.length === 0) return 'the batch is empty';
  const names: string[] = [];
  for (const call of calls) {
    const name = typeof call === 'object' && call !== null && !Array.isArray(call) ? (call as { method?: unknown }).method : undefined;
    if (typeof name !== 'string') return 'a call in the body names no method';
    names.push(name);
  }
  return names;
}
