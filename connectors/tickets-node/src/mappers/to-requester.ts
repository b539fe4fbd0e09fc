import { field, sourceAttributes, withAttributes } from 'omnigate/sdk';

const MAPPED = ['requesterId', 'email', 'created'];

/** A tickets-service requesters.ensure result ({requesterId, email, created}) → canonical Requester; other fields in `attributes`. */
export function toRequester(raw: unknown, path = 'requester'): Record<string, unknown> {
  return {
    id: field<string>(raw, 'requesterId', 'string', { path }),
    email: field<string>(raw, 'email', 'string', { path }),
    created: field<boolean>(raw, 'created', 'boolean', { path }),
    ...withAttributes(sourceAttributes(raw, MAPPED)),
  };
}
