import { AppError, type ErrorCode, type ProblemExtensions } from '../kernel/errors.ts';

/**
 * The typed errors a connector throws. Each carries a code from the gateway's one error model,
 * so the core reports it without knowing the connector.
 */
export class ConnectorError extends AppError {
  constructor(code: ErrorCode, detail: string, extensions: ProblemExtensions = {}, options?: ErrorOptions) {
    super(code, detail, extensions, options);
    this.name = new.target.name;
  }
}

/** The backend has no such record. */
export class NotFoundError extends ConnectorError {
  constructor(detail: string, options?: ErrorOptions) {
    super('NOT_FOUND', detail, {}, options);
  }
}

/** The backend refused the connector's credentials, even after one refresh. */
export class UnauthorizedError extends ConnectorError {
  constructor(detail: string, options?: ErrorOptions) {
    super('UPSTREAM_UNAUTHORIZED', detail, {}, options);
  }
}

/** The backend could not be reached or answered with a server error. */
export class UpstreamUnavailableError extends ConnectorError {
  constructor(detail: string, extensions: ProblemExtensions = {}, options?: ErrorOptions) {
    super('UPSTREAM_UNAVAILABLE', detail, extensions, options);
  }
}

/** The backend did not answer before the call's deadline. */
export class UpstreamTimeoutError extends ConnectorError {
  constructor(detail: string, options?: ErrorOptions) {
    super('UPSTREAM_TIMEOUT', detail, {}, options);
  }
}

/** The backend answered, but not in the shape its contract promises; `field` names where. */
export class BadUpstreamDataError extends ConnectorError {
  readonly field: string;
  constructor(field: string, detail: string, options?: ErrorOptions) {
    super('CONNECTOR_BAD_DATA', detail, { field }, options);
    this.field = field;
  }
}

/** The caller's parameters were refused by the backend as invalid. */
export class InvalidRequestError extends ConnectorError {
  constructor(detail: string, options?: ErrorOptions) {
    super('VALIDATION_FAILED', detail, {}, options);
  }
}

/** Maps an unexpected HTTP status of a backend to the typed error that fits it. */
export function errorForStatus(status: number, detail: string): ConnectorError {
  if (status === 404) return new NotFoundError(detail);
  if (status === 401 || status === 403) return new UnauthorizedError(detail);
  if (status === 408 || status === 504) return new UpstreamTimeoutError(detail);
  if (status === 400 || status === 422) return new InvalidRequestError(detail);
  return new UpstreamUnavailableError(detail, { upstreamStatus: status });
}
