import express, { type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../../kernel/errors.ts';

/** Whether a request carries a body: chunked, or a non-zero Content-Length. */
export const hasBody = (req: Request): boolean => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** JSON bodies only, bounded in size; a body-carrying request of another type is refused with 415. */
export function jsonBody(limitBytes: number) {
  const parse = express.json({ limit: limitBytes, strict: true, type: ['application/json', 'application/*+json'] });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (hasBody(req) && !req.is(['application/json', 'application/*+json'])) {
      next(new AppError('UNSUPPORTED_MEDIA_TYPE', `expected an application/json body, got ${req.get('content-type') ?? 'no content type'}`));
      return;
    }
    parse(req, res, next);
  };
}
