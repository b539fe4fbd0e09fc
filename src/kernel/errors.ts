/** What the gateway does about one error code: the columns of the catalogue. */
export interface ErrorPolicy {
  readonly status: number;
  readonly wsClose: number;
  /** A caller (or a job) may try again. */
  readonly retryable: boolean;
  /** The failure says the backend is unwell: it counts against the connector's breaker. */
  readonly breaker: boolean;
  /** A write that failed so may still have happened at the backend (see isOutcomeUnknown). */
  readonly outcomeUnknown: boolean;
  /** A read that failed so may answer its last good result instead (marked stale). */
  readonly stale: boolean;
  readonly title: string;
}

/**
 * The one error model. Every failure the gateway reports has a code from this closed set; this
 * table is the only place that maps a code to an HTTP status, a WebSocket close code, whether
 * a caller (or a job) may retry, and how the breaker, writes and the stale cache treat it.
 * `src/kernel/openapi.test.ts` keeps it in line with openapi/.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: { status: 400, wsClose: 4400, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The request is not valid' },
  SECRET_NEEDS_ENCRYPTION_KEY: { status: 400, wsClose: 4400, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'A secret given literally cannot be stored without OMNIGATE_CONFIG_ENCRYPTION_KEY' },
  MALFORMED_JSON: { status: 400, wsClose: 4400, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The body is not valid JSON' },
  UNKNOWN_CAPABILITY: { status: 400, wsClose: 4400, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'No connector declares this capability' },
  NO_ROUTE: { status: 400, wsClose: 4400, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The call picks no route of this capability' },
  UNAUTHENTICATED: { status: 401, wsClose: 4401, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'Missing or invalid API key' },
  FORBIDDEN: { status: 403, wsClose: 4403, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'Not allowed' },
  PROXY_PATH_FORBIDDEN: { status: 403, wsClose: 4403, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'This path is not open through the proxy' },
  NOT_FOUND: { status: 404, wsClose: 4404, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'No such resource' },
  ROUTE_NOT_FOUND: { status: 404, wsClose: 4404, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'No such endpoint' },
  METHOD_NOT_ALLOWED: { status: 405, wsClose: 4405, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'Method not allowed on this endpoint' },
  RATE_LIMITED: { status: 429, wsClose: 4429, retryable: true, breaker: false, outcomeUnknown: false, stale: true, title: 'Too many requests' },
  STREAM_LIMIT_REACHED: { status: 429, wsClose: 4429, retryable: true, breaker: false, outcomeUnknown: false, stale: false, title: 'This key has its limit of event streams open' },
  HEADERS_TOO_LARGE: { status: 431, wsClose: 4431, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The request line and headers are too large' },
  PAYLOAD_TOO_LARGE: { status: 413, wsClose: 4413, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, wsClose: 4415, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The body must be application/json' },
  INTERNAL: { status: 500, wsClose: 1011, retryable: false, breaker: true, outcomeUnknown: true, stale: false, title: 'Internal error' },
  UPSTREAM_UNAVAILABLE: { status: 502, wsClose: 4502, retryable: true, breaker: true, outcomeUnknown: false, stale: true, title: 'The backend could not be reached' },
  UPSTREAM_UNAUTHORIZED: { status: 502, wsClose: 4502, retryable: false, breaker: true, outcomeUnknown: false, stale: true, title: 'The backend refused the connector\'s credentials' },
  CONNECTOR_FAILED: { status: 502, wsClose: 4502, retryable: false, breaker: true, outcomeUnknown: true, stale: true, title: 'The connector failed while handling the call' },
  CONNECTOR_BAD_DATA: { status: 502, wsClose: 4502, retryable: false, breaker: true, outcomeUnknown: true, stale: true, title: 'The backend answered data that breaks the contract' },
  WEBHOOK_REJECTED: { status: 502, wsClose: 4502, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The webhook receiver refused the delivery' },
  LIFECYCLE_FAILED: { status: 409, wsClose: 4409, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The connector change failed; nothing changed' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, wsClose: 4409, retryable: true, breaker: false, outcomeUnknown: false, stale: false, title: 'A request with this idempotency key is still running' },
  JOB_NOT_DEAD: { status: 409, wsClose: 4409, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'Only a dead job can be retried' },
  SUBSCRIPTION_LIMIT_REACHED: { status: 409, wsClose: 4409, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'This key has its limit of webhook subscriptions' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, wsClose: 4422, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The idempotency key was already used for another request' },
  CONNECTOR_UNAVAILABLE: { status: 503, wsClose: 4503, retryable: true, breaker: false, outcomeUnknown: false, stale: false, title: 'The connector for this capability is not loaded' },
  CONNECTOR_NOT_CONFIGURED: { status: 503, wsClose: 4503, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The connector is missing settings it needs' },
  CIRCUIT_OPEN: { status: 503, wsClose: 4503, retryable: true, breaker: false, outcomeUnknown: false, stale: true, title: 'The backend is failing; calls to it are paused' },
  CONNECTOR_SATURATED: { status: 503, wsClose: 4503, retryable: true, breaker: false, outcomeUnknown: false, stale: true, title: 'The connector is at its concurrency limit' },
  SHUTTING_DOWN: { status: 503, wsClose: 1012, retryable: true, breaker: false, outcomeUnknown: false, stale: false, title: 'The gateway is shutting down' },
  STORE_UNAVAILABLE: { status: 503, wsClose: 4503, retryable: true, breaker: false, outcomeUnknown: false, stale: false, title: 'The shared store this request needs is unavailable' },
  TOKEN_EXPIRED: { status: 401, wsClose: 4001, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The token has expired' },
  NOT_A_PARTICIPANT: { status: 403, wsClose: 4403, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'Only a participant of the conversation may act for it' },
  IDENTITY_NOT_VERIFIED: { status: 403, wsClose: 4403, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The identity proof does not match' },
  ORIGIN_NOT_ALLOWED: { status: 403, wsClose: 4403, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'This origin is not allowed for the widget key' },
  INVALID_TRANSITION: { status: 409, wsClose: 4409, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The conversation cannot do this in its current state' },
  CONVERSATION_ALREADY_ASSIGNED: { status: 409, wsClose: 4409, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'Another agent has already claimed this conversation' },
  CONVERSATION_BUSY: { status: 409, wsClose: 4409, retryable: true, breaker: false, outcomeUnknown: false, stale: false, title: 'The conversation changed while this command ran' },
  AGENT_AT_CAPACITY: { status: 409, wsClose: 4409, retryable: true, breaker: false, outcomeUnknown: false, stale: false, title: 'The agent holds as many conversations as it may' },
  OFFER_EXPIRED: { status: 409, wsClose: 4409, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The offer is no longer open' },
  CONVERSATION_LIMIT_REACHED: { status: 429, wsClose: 4429, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'This visitor has its limit of open conversations' },
  HISTORY_EXPIRED: { status: 410, wsClose: 4410, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'This part of the history is no longer kept: refetch the conversation' },
  FRAME_TOO_LARGE: { status: 413, wsClose: 1009, retryable: false, breaker: false, outcomeUnknown: false, stale: false, title: 'The WebSocket frame is too large' },
  SLOW_CONSUMER: { status: 503, wsClose: 4011, retryable: true, breaker: false, outcomeUnknown: false, stale: false, title: 'The client reads too slowly: reconnect and resume' },
  HEARTBEAT_MISSED: { status: 408, wsClose: 4008, retryable: true, breaker: false, outcomeUnknown: false, stale: false, title: 'The client stopped answering heartbeats' },
  UPSTREAM_TIMEOUT: { status: 504, wsClose: 4504, retryable: true, breaker: true, outcomeUnknown: true, stale: true, title: 'The backend did not answer in time' },
} as const satisfies Record<string, ErrorPolicy>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const PROBLEM_TYPE_PREFIX = 'urn:omnigate:problem:';

/** Extra members that travel with a problem (connector, field, errors …). */
export type ProblemExtensions = Record<string, unknown>;

const REFUSALS: ReadonlySet<ErrorCode> = new Set(['CIRCUIT_OPEN', 'CONNECTOR_SATURATED', 'SHUTTING_DOWN']);
/** Codes whose errors carry no stack: the caller's (4xx) and the gateway's refusals. */
const WITHOUT_STACK = (code: ErrorCode): boolean => ERROR_CATALOGUE[code].status < 500 || REFUSALS.has(code);

/** An error the gateway knows how to report. Unknown errors are wrapped once, at the boundary. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly extensions: ProblemExtensions;

  constructor(code: ErrorCode, detail: string, extensions: ProblemExtensions = {}, options?: ErrorOptions) {
    // A refusal or a caller's mistake is told by its code: capturing a stack for it cost more than
    // the rest of a rate-limited refusal did (bench/README.md).
    const stackTraceLimit = Error.stackTraceLimit;
    if (WITHOUT_STACK(code)) Error.stackTraceLimit = 0;
    super(detail, options);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'AppError';
    this.code = code;
    this.extensions = extensions;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }

  get retryable(): boolean {
    return ERROR_CATALOGUE[this.code].retryable;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Wraps anything thrown into an AppError, keeping the original as `cause`. */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  return new AppError('INTERNAL', 'An unexpected error occurred', {}, { cause: err });
}

/** The RFC 9457 body for an error. */
export function toProblem(err: AppError, instance?: string): Record<string, unknown> {
  const entry = ERROR_CATALOGUE[err.code];
  return {
    type: `${PROBLEM_TYPE_PREFIX}${err.code}`,
    title: entry.title,
    status: entry.status,
    detail: err.message,
    code: err.code,
    retryable: entry.retryable,
    ...(instance === undefined ? {} : { instance }),
    ...err.extensions,
  };
}

/**
 * For a write: whether the backend may have acted although the caller got an error (it timed
 * out, the answer was unreadable, the connector failed after sending, the caller went away).
 * Such a write must be neither retried nor released for a repeat: it could happen twice.
 */
export function isOutcomeUnknown(error: AppError): boolean {
  return ERROR_CATALOGUE[error.code].outcomeUnknown || error.extensions.abandoned === true;
}

/**
 * Whether a failed connector call counts against its breaker: a failure that says nothing about
 * the backend's health (a bad request, a full bulkhead, a caller who left) does not.
 */
export function countsAgainstBreaker(err: unknown): boolean {
  if (!isAppError(err)) return true;
  if (err.extensions.abandoned === true) return false;
  return ERROR_CATALOGUE[err.code].breaker;
}

/** Whether a read that failed with this error may answer its last good result instead. */
export function allowsStaleAnswer(error: AppError): boolean {
  return ERROR_CATALOGUE[error.code].stale;
}
