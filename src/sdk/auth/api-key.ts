import type { Authenticator } from '../types.ts';

/** A static credential in one header, e.g. `Authorization: Token …` or `X-Api-Key: …`. */
export function apiKeyAuth(options: { header: string; value: string }): Authenticator {
  const header = options.header.toLowerCase();
  return {
    authorize(request) {
      request.headers[header] = options.value;
    },
  };
}
