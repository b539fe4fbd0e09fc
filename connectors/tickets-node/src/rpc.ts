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

/** JSON-RPC error codes of the tickets service → typed errors; the detail carries the service's `data.reason`. */
function rpcError(code: number, message: string, method: string, reason: unknown): Error {
  const detail = `tickets: ${method}: ${message}${typeof reason === 'string' ? `: ${reason}` : ''}`;
  if (code === -32004 || code === -32005) return new NotFoundError(detail);
  if (code === -32602) return new InvalidRequestError(detail);
  if (code === -32001 || code === -32002) return new UnauthorizedError(detail);
  return new UpstreamUnavailableError(detail, { rpcCode: code });
}

/** Calls the tickets service's JSON-RPC methods. */
export interface Rpc {
  /** Calls one method and returns its `result`, or throws the typed error. */
  call(ctx: ConnectorContext<TicketsConfig>, method: string, params: Record<string, unknown>): Promise<unknown>;
}

/**
 * `newId` makes each request's id. Random by default: the id is part of the signed body, so it
 * also keeps two identical calls in the same millisecond from looking like a replay. Contract
 * tests pass fixed ids, since a recorded reply cannot echo a random one.
 */
export function createRpc(newId: () => string = randomUUID): Rpc {
  return { call: (ctx, method, params) => call(ctx, newId(), method, params) };
}

async function call(ctx: ConnectorContext<TicketsConfig>, id: string, method: string, params: Record<string, unknown>): Promise<unknown> {
  const reply = await ctx.http.request({ method: 'POST', path: '/rpc', json: { jsonrpc: '2.0', id, method, params } });
  const body = reply.body as { result?: unknown; error?: { code?: unknown; message?: unknown; data?: { reason?: unknown } }; id?: unknown } | undefined;
  if (body?.error && typeof body.error.code === 'number') {
    throw rpcError(body.error.code, String(body.error.message ?? 'error'), method, body.error.data?.reason);
  }
  if (reply.status !== 200) throw errorForStatus(reply.status, `tickets: ${method}: status ${reply.status}`);
  if (body === undefined || !('result' in body)) throw new BadUpstreamDataError('result', `tickets: ${method}: reply has neither result nor error`);
  if (body.id !== id) throw new BadUpstreamDataError('id', `tickets: ${method}: reply id does not match the request`);
  return body.result;
}
