import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ApiKey } from '../../config/config.ts';
import { AppError } from '../../kernel/errors.ts';
import { contextOf } from '../http/request-context.ts';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Requires an API key, as `X-Api-Key: <key>` or `Authorization: Bearer <key>`. Keys are compared
 * as digests in constant time; the principal is the key's name, never the key.
 */
export function createApiKeyAuth(keys: readonly ApiKey[]) {
  const known = keys.map((k) => ({ name: k.name, digest: digest(k.key) }));
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.get('x-api-key');
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
    const presented = header ?? bearer;
    if (presented === undefined) {
      res.setHeader('www-authenticate', 'Bearer realm="omnigate"');
      next(new AppError('UNAUTHENTICATED', 'send an API key in X-Api-Key or Authorization: Bearer'));
      return;
    }
    const candidate = digest(presented);
    const match = known.find((k) => timingSafeEqual(k.digest, candidate));
    if (!match) {
      res.setHeader('www-authenticate', 'Bearer realm="omnigate", error="invalid_token"');
      next(new AppError('UNAUTHENTICATED', 'the API key is not valid'));
      return;
    }
    contextOf(res).principal = match.name;
    next();
  };
}
