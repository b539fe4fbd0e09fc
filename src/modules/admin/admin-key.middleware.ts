import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { contextOf } from '../http/request-context.ts';

/**
 * Requires an admin key (OMNIGATE_ADMIN_KEYS), sent like an API key. A regular API key, an agent
 * or a visitor token is known but not enough: 403. No key or an unknown one: 401.
 */
export function createAdminAuth(authenticator: Authenticator) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const auth = await authenticator.authenticate(req);
    if (auth.outcome === 'none') {
      res.setHeader('www-authenticate', 'Bearer realm="omnigate-admin"');
      return next(new AppError('UNAUTHENTICATED', 'send an admin key in X-Api-Key or Authorization: Bearer'));
    }
    if (auth.outcome === 'invalid') {
      res.setHeader('www-authenticate', 'Bearer realm="omnigate-admin", error="invalid_token"');
      return next(auth.error.code === 'TOKEN_EXPIRED' ? auth.error : new AppError('UNAUTHENTICATED', 'the admin key is not valid'));
    }
    if (!auth.principal.roles.includes('admin')) return next(new AppError('FORBIDDEN', 'this endpoint needs an admin key (OMNIGATE_ADMIN_KEYS), not an API key or a token'));
    contextOf(res).principal = auth.principal;
    next();
  };
}
