import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ApiKey } from '../../config/config.ts';
import { AppError } from '../../kernel/errors.ts';
import { contextOf } from '../http/request-context.ts';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
const matches = (keys: readonly { digest: Buffer }[], candidate: Buffer) => keys.some((k) => timingSafeEqual(k.digest, candidate));

/**
 * Requires an admin key (OMNIGATE_ADMIN_KEYS), sent like an API key. A regular API key is
 * known but not enough: 403. No key or an unknown one: 401.
 */
export function createAdminAuth(adminKeys: readonly ApiKey[], apiKeys: readonly ApiKey[]) {
  const admins = adminKeys.map((k) => ({ name: k.name, digest: digest(k.key) }));
  const users = apiKeys.map((k) => ({ digest: digest(k.key) }));
  return (req: Request, res: Response, next: NextFunction): void => {
    const presented = req.get('x-api-key') ?? /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
    if (presented === undefined) {
      res.setHeader('www-authenticate', 'Bearer realm="omnigate-admin"');
      return next(new AppError('UNAUTHENTICATED', 'send an admin key in X-Api-Key or Authorization: Bearer'));
    }
    const candidate = digest(presented);
    const admin = admins.find((k) => timingSafeEqual(k.digest, candidate));
    if (admin) {
      contextOf(res).principal = admin.name;
      return next();
    }
    if (matches(users, candidate)) return next(new AppError('FORBIDDEN', 'this endpoint needs an admin key (OMNIGATE_ADMIN_KEYS), not an API key'));
    res.setHeader('www-authenticate', 'Bearer realm="omnigate-admin", error="invalid_token"');
    next(new AppError('UNAUTHENTICATED', 'the admin key is not valid'));
  };
}
