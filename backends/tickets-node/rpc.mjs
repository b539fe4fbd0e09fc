// JSON-RPC 2.0 envelope handling: parse, validate, dispatch.
// Batch requests (a JSON array) are rejected with -32600.
import { RpcError } from './methods.mjs';

export const ERR_PARSE = -32700;
export const ERR_INVALID_REQUEST = -32600;
export const ERR_METHOD_NOT_FOUND = -32601;
export const ERR_INTERNAL = -32603;

export function errorResponse(id, code, message, data) {
  const error = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: '2.0', id: id ?? null, error };
}

const isValidId = (id) => id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));

/** Best-effort request id from a raw body (null when there is none). */
export function peekId(rawBody) {
  try {
    const msg = JSON.parse(rawBody.toString('utf8'));
    return msg && typeof msg === 'object' && !Array.isArray(msg) && isValidId(msg.id) ? msg.id : null;
  } catch {
    return null;
  }
}

/** Best-effort method name and params from a raw body. */
export function peekCall(rawBody) {
  try {
    const msg = JSON.parse(rawBody.toString('utf8'));
    if (msg && typeof msg === 'object' && !Array.isArray(msg)) {
      return { method: typeof msg.method === 'string' ? msg.method : null, params: msg.params ?? {} };
    }
  } catch {
    // fall through
  }
  return { method: null, params: {} };
}

/**
 * Handles one raw JSON-RPC body. Returns the response object, or null for a
 * notification (a request without "id"), which gets no JSON-RPC response.
 */
export function handleRpc(rawBody, methods, onInternalError = () => {}) {
  let msg;
  try {
    msg = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return errorResponse(null, ERR_PARSE, 'Parse error');
  }
  if (Array.isArray(msg)) {
    return errorResponse(null, ERR_INVALID_REQUEST, 'Invalid Request', { reason: 'batch requests are not supported' });
  }
  if (msg === null || typeof msg !== 'object') {
    return errorResponse(null, ERR_INVALID_REQUEST, 'Invalid Request', { reason: 'request must be a JSON object' });
  }
  const hasId = Object.hasOwn(msg, 'id');
  const id = hasId && isValidId(msg.id) ? msg.id : null;
  if (hasId && !isValidId(msg.id)) {
    return errorResponse(null, ERR_INVALID_REQUEST, 'Invalid Request', { reason: 'id must be a string, number or null' });
  }
  if (msg.jsonrpc !== '2.0') {
    return errorResponse(id, ERR_INVALID_REQUEST, 'Invalid Request', { reason: 'jsonrpc must be "2.0"' });
  }
  if (typeof msg.method !== 'string') {
    return errorResponse(id, ERR_INVALID_REQUEST, 'Invalid Request', { reason: 'method must be a string' });
  }
  if (msg.params !== undefined && (msg.params === null || typeof msg.params !== 'object')) {
    return errorResponse(id, ERR_INVALID_REQUEST, 'Invalid Request', { reason: 'params must be an object or array' });
  }

  let response;
  if (!Object.hasOwn(methods, msg.method)) {
    response = errorResponse(id, ERR_METHOD_NOT_FOUND, 'Method not found', { method: msg.method });
  } else {
    try {
      response = { jsonrpc: '2.0', id, result: methods[msg.method](msg.params) };
    } catch (err) {
      if (err instanceof RpcError) {
        response = errorResponse(id, err.code, err.message, err.data);
      } else {
        onInternalError(err);
        response = errorResponse(id, ERR_INTERNAL, 'Internal error');
      }
    }
  }
  return hasId ? response : null;
}
