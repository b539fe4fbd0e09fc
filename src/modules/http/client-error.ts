import { randomUUID } from 'node:crypto';
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, toProblem } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { ownTraceparent, startTrace } from '../../kernel/trace.ts';

/**
 * The `clientError` listener of the HTTP server: a request Node's parser refuses never reaches
 * express, and Node's own answer is a bare status line. This one answers problem+json with the
 * headers every answer carries: 431 HEADERS_TOO_LARGE past the header limit, 400
 * VALIDATION_FAILED for anything else that is not valid HTTP. A timed-out request keeps Node's
 * 408, and a socket that cannot be written to is closed.
 */
export function answerClientError(log: Logger) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
      return;
    }
    const error =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError('HEADERS_TOO_LARGE', `the request line and headers exceed the ${maxHeaderSize} bytes the gateway reads`)
        : new AppError('VALIDATION_FAILED', `the request is not valid HTTP (${err.code ?? 'parse error'})`);
    const requestId = randomUUID();
    const trace = startTrace(undefined, requestId);
    log.info({ reqId: requestId, traceId: trace.traceId, code: error.code, parserError: err.code }, 'request refused by the HTTP parser');
    const body = JSON.stringify({ ...toProblem(error), traceId: trace.traceId });
    socket.end(
      [
        `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}`,
        'Content-Type: application/problem+json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        `X-Request-Id: ${requestId}`,
        `traceparent: ${ownTraceparent(trace)}`,
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
    );
  };
}
