import { field } from 'omnigate/sdk';

/** A tickets-service requesters.ensure result ({requesterId, email, created}) → canonical Requester. */
export function toRequester(raw: unknown, path = 'requester'): Record<string, unknown> {
  return {
    id: field<string>(raw, 'requesterId', 'string', { path }),
    email: field<string>(raw, 'email', 'string', { path }),
    created: field<boolean>(raw, 'created', 'boolean', { path }),
  };
}
