import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import { contextOf } from '../http/request-context.ts';
import type { Authentication, Authenticator } from './authenticator.ts';

/** Sends the challenge and the refusal of a request without usable credentials. */
function refuse(res: Response, next: NextFunction, auth: Exclude<Authentication, { outcome: 'ok' }>, realm: string, missing: string): void {
  if (auth.outcome === 'none') {
    res.setHeader('www-authenticate', `Bearer realm="${realm}"`);
    return next(new AppError('UNAUTHENTICATED', missing));
  }
  res.setHeader('www-authenticate', `Bearer realm="${realm}", error="invalid_token"`);
  next(auth.error);
}

export interface ApiKeyAuthOptions {
  /**
   * The requests an agent or supervisor token may make too: the query API's reads (their routes
   * then ask agents for the `X-Conversation-Id` of a conversation they take part in).
   */
  readonly agentMay?: (req: Request) => boolean;
}

/**
 * Requires an API key, as `X-Api-Key: <key>` or `Authorization: Bearer <key>`, and puts its
 * principal on the request context. An admin key is not an API key here: 401, as for a stranger.
 * Agent tokens open the chat API and, where `agentMay` says so, the query API's reads; visitor
 * tokens the chat API only: 403 elsewhere.
 */
export function createApiKeyAuth(authenticator: Authenticator, options: ApiKeyAuthOptions = {}) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const auth = await authenticator.authenticate(req);
    if (auth.outcome !== 'ok') return refuse(res, next, auth, 'omnigate', 'send an API key in X-Api-Key or Authorization: Bearer');
    const { principal } = auth;
    if (principal.kind === 'agent' && options.agentMay?.(req) === true) {
      contextOf(res).principal = principal;
      return next();
    }
    if (principal.kind === 'agent') return next(new AppError('FORBIDDEN', 'agent tokens open only the chat API (/v1/conversations, /v1/ws/tickets), the queues (/v1/queues, supervisors) and the query API\'s reads (with X-Conversation-Id): this endpoint needs an API key'));
    if (principal.kind !== 'service') return next(new AppError('FORBIDDEN', `${principal.kind} tokens open only the chat API (/v1/conversations, /v1/ws/tickets) and the queues (/v1/queues, supervisors): this endpoint needs an API key`));
    if (!principal.roles.includes('api')) return refuse(res, next, { outcome: 'invalid', error: new AppError('UNAUTHENTICATED', 'the API key is not valid') }, 'omnigate', '');
    contextOf(res).principal = principal;
    next();
  };
}

/**
 * The chat API's authentication (`/v1/conversations*`, `/v1/ws/tickets`): an API key (a service
 * acting as the system), an agent or supervisor JWT, or a visitor token. Role checks stay with
 * the routes. A visitor's request from a browser (it has an `Origin`) must come from one of its
 * site's allowed origins: 403 ORIGIN_NOT_ALLOWED otherwise.
 */
export function createChatAuth(authenticator: Authenticator, originAllowed: (site: string, origin: string) => boolean) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const auth = await authenticator.authenticate(req);
    if (auth.outcome !== 'ok') return refuse(res, next, auth, 'omnigate', 'send an API key, an agent token or a visitor token in Authorization: Bearer');
    const { principal } = auth;
    if (principal.kind === 'service' && !principal.roles.includes('api')) return refuse(res, next, { outcome: 'invalid', error: new AppError('UNAUTHENTICATED', 'an admin key does not open the chat API') }, 'omnigate', '');
    const origin = req.get('origin');
    if (principal.kind === 'visitor' && origin !== undefined && !originAllowed(principal.site, origin)) {
      return next(new AppError('ORIGIN_NOT_ALLOWED', `the widget key of ${principal.site} does not allow the origin ${origin}`));
    }
    contextOf(res).principal = principal;
    next();
  };
}
