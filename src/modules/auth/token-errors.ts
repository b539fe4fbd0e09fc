import { errors } from 'jose';
import { AppError } from '../../kernel/errors.ts';

/**
 * What a failed token check tells the caller: an expired token is TOKEN_EXPIRED (fetch a fresh
 * one), anything else about the token UNAUTHENTICATED. `what` names the token in the detail.
 */
export function tokenError(err: unknown, what: string): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof errors.JWTExpired) return new AppError('TOKEN_EXPIRED', `the ${what} has expired: get a fresh one`);
  if (err instanceof errors.JWTClaimValidationFailed) return new AppError('UNAUTHENTICATED', `the ${what} is not valid here (${err.claim}: ${err.reason})`);
  if (err instanceof errors.JOSEAlgNotAllowed) return new AppError('UNAUTHENTICATED', `the ${what} is signed with an algorithm this gateway does not accept`);
  return new AppError('UNAUTHENTICATED', `the ${what} is not valid`, {}, { cause: err });
}
