import { randomUUID } from 'node:crypto';
import {
  BadUpstreamDataError,
  InvalidRequestError,
  NotFoundError,
  UnauthorizedError,
  UpstreamUnavailableError,
  errorForStatus,
  type ConnectorContext,
} from 'omnigate/sdk';
import type { TicketsConfig } from './config.ts';

/** JSON-RPC error codes of the tickets service → typed errors. */
function rpcError(code: number, message: string, method: string): Error {
  const detail = `tickets: ${method}: ${message}`;
  if (code === -32004 || code === -32005) return new NotFoundError(detail);
  if (code === -32602) return new InvalidRequestError(detail);
  if (code === -32001 || code === -32002) return new UnauthorizedError(detail);
  return new UpstreamUnavailableError(detail, { rpcCode: code });
}

/** Calls one JSON-RPC method and returns its `result`, or throws the typed error. */
export async function call(ctx: ConnectorContext<TicketsConfig>, method: string, params: Record<string, unknown>): Promise<unknown> {
  const id = randomUUID();
  const reply = await ctx.http.request({ method: 'POST', path: '/rpc', json: { jsonrpc: '2.0', id, method, params } });
  const body = reply.body as { result?: unknown; error?: { code?: unknown; message?: unknown }; id?: unknown } | undefined;
  if (body?.error && typeof body.error.code === 'number') {
    throw rpcError(body.error.code, String(body.error.message ?? 'error'), method);
  }
  if (reply.status !== 200) throw errorForStatus(reply.status, `tickets: ${method}: status ${reply.status}`);
  if (body === undefined || !('result' in body)) throw new BadUpstreamDataError('result', `tickets: ${method}: reply has neither result nor error`);
  if (body.id !== id) throw new BadUpstreamDataError('id', `tickets: ${method}: reply id does not match the request`);
  return body.result;
}
