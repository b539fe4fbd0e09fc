/**
 * The connector SDK: everything a connector author imports, as `omnigate/sdk`.
 * See docs/connector-guide.md.
 */
export { defineConnector, isConnector } from './define-connector.ts';
export type * from './types.ts';
export { createHttpClient, DeadlineExceeded } from './http-client.ts';
export type { HttpClient, HttpRequest, HttpResponse, OutgoingRequest } from './http-client.ts';
export {
  ConnectorError,
  NotFoundError,
  UnauthorizedError,
  UpstreamUnavailableError,
  UpstreamTimeoutError,
  BadUpstreamDataError,
  InvalidRequestError,
  errorForStatus,
} from './errors.ts';
export { apiKeyAuth } from './auth/api-key.ts';
export { noAuth } from './auth/no-auth.ts';
export { hmacAuth, type HmacAuthOptions } from './auth/hmac.ts';
export { oauth2ClientCredentials, type OAuth2ClientCredentials, type OAuth2ClientCredentialsOptions } from './auth/oauth2-client-credentials.ts';
export { money, minorToDecimal, utcFromLocal, utcFromZoned, utcFromEpochMs, field, sourceAttributes, withAttributes, MAX_ATTRIBUTES, MAX_ATTRIBUTE_KEY_LENGTH, type Money } from './mapping.ts';
