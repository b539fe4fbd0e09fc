import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import { operations, type JsonObject } from '../../kernel/openapi.ts';

interface PathMethods {
  readonly pattern: RegExp;
  /** The `Allow` header: the document's methods for the path, HEAD wherever GET is. */
  readonly allow: string;
  readonly methods: ReadonlySet<string>;
}

/**
 * 405 METHOD_NOT_ALLOWED, with `Allow`, for a URL that is one of the document's paths asked with
 * a method the document does not list for it. It runs before authentication: which methods a
 * path takes is public (the document is), and a key could not make the method allowed.
 * Paths with a wildcard parameter (the proxy) are left to their router, whose allowed methods
 * come from each connector's manifest.
 */
export function allowedMethods(doc: JsonObject) {
  const paths = pathMethods(doc);
  return (req: Request, res: Response, next: NextFunction): void => {
    const path = paths.find((p) => p.pattern.test(req.path));
    if (!path || path.methods.has(req.method)) return next();
    res.setHeader('allow', path.allow);
    next(new AppError('METHOD_NOT_ALLOWED', `no endpoint ${req.method} ${req.path}; it takes ${path.allow}`));
  };
}

function pathMethods(doc: JsonObject): PathMethods[] {
  const byPath = new Map<string, { methods: Set<string>; isWildcard: boolean }>();
  for (const { method, path, parameters } of operations(doc)) {
    const entry = byPath.get(path) ?? { methods: new Set<string>(), isWildcard: false };
    entry.methods.add(method.toUpperCase());
    if (method === 'get') entry.methods.add('HEAD');
    entry.isWildcard ||= parameters.some((p) => p['x-omnigate-wildcard'] === true);
    byPath.set(path, entry);
  }
  return [...byPath].filter(([, e]) => !e.isWildcard).map(([path, { methods }]) => ({
    // As express matches routes: a parameter is one non-empty segment, case-insensitive, an optional trailing slash.
    pattern: new RegExp(`^${path.split(/\{[^}]+\}/).map(escapeRegExp).join('[^/]+')}/?$`, 'i'),
    allow: [...methods].join(', '),
    methods,
  }));
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
