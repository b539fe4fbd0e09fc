import type { Authenticator } from '../types.ts';

/**
 * For a backend without auth (an internal service, a local tool): adds no credential to any
 * request, and a 401 is not retried (there is nothing to refresh). Say so in `auth()` rather than
 * leaving it out, so the connector states what its backend expects.
 */
export function noAuth(): Authenticator {
  return {
    authorize() {},
    invalidate() {
      return false;
    },
  };
}
