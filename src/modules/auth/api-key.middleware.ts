import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import { contextOf } from '../http/request-context.ts';
import type { Authenticator } from './authenticator.ts';

/**
 * Requires an API key, as `X-Api-Key: <key>` or `Authorization: Bearer <key>`, and puts its
 * principal on the request context. An admin key is not an API key here: 401, as for a stranger.
 */
export function createApiKeyAuth(authenticator: Authenticator) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const auth = authenticator.authenticate(req);
    if (auth.outcome === 'none') {
      res.setHeader('www-authenticate', 'Bearer realm="omnigate"');
      return next(new AppError('UNAUTHENTICATED', 'send an API key in X-Api-Key or Authorization: Bearer'));
    }
    if (auth.outcome === 'invalid' || !auth.principal.roles.includes('api')) {
      res.setHeader('www-authenticate', 'Bearer realm="omnigate", error="invalid_token"');
      return next(new AppError('UNAUTHENTICATED', 'the API key is not valid'));
    }
    contextOf(res).principal = auth.principal;
    next();
  };
}
