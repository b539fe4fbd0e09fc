import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { contextOf } from '../http/request-context.ts';

/**
 * Requires an admin key (OMNIGATE_ADMIN_KEYS), sent like an API key. A regular API key is
 * known but not enough: 403. No key or an unknown one: 401.
 */
export function createAdminAuth(authenticator: Authenticator) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const auth = authenticator.authenticate(req);
    if (auth.outcome === 'none') {
      res.setHeader('www-authenticate', 'Bearer realm="omnigate-admin"');
      return next(new AppError('UNAUTHENTICATED', 'send an admin key in X-Api-Key or Authorization: Bearer'));
    }
    if (auth.outcome === 'invalid') {
      res.setHeader('www-authenticate', 'Bearer realm="omnigate-admin", error="invalid_token"');
      return next(new AppError('UNAUTHENTICATED', 'the admin key is not valid'));
    }
    if (!auth.principal.roles.includes('admin')) return next(new AppError('FORBIDDEN', 'this endpoint needs an admin key (OMNIGATE_ADMIN_KEYS), not an API key'));
    contextOf(res).principal = auth.principal;
    next();
  };
}
