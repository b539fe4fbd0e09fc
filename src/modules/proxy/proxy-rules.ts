import type { ProxyRule } from '../../sdk/types.ts';

/** `/api/orders/*` → a RegExp: `*` is one path segment, `**` the rest of the path. */
export function compileRule(rule: ProxyRule): { methods: ReadonlySet<string>; pattern: RegExp } {
  const source = rule.path
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return { methods: new Set(rule.methods.map((m) => m.toUpperCase())), pattern: new RegExp(`^${source}$`) };
}

/** True when a connector's manifest opens this method and path through the proxy. */
export function isAllowed(rules: readonly ProxyRule[], method: string, path: string): boolean {
  // Refuse dot segments, raw or percent-encoded, and encoded slashes: a backend may decode them.
  const segments = path.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return '..';
    }
  });
  if (segments.some((segment) => segment === '..' || segment === '.' || segment.includes('/') || segment.includes('\\'))) return false;
  return rules.map(compileRule).some((r) => r.methods.has(method.toUpperCase()) && r.pattern.test(path));
}
