import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { AppError } from '../../kernel/errors.ts';
import type { CloudEvent } from '../../ports/event-bus.ts';
import { signWebhook } from './signature.ts';

export const WEBHOOK_TIMEOUT_MS = 5_000;
/** How much of a receiver's answer is read (and thrown away) before the connection is let go. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface DeliveryTarget {
  readonly url: string;
  readonly secret: string;
}

/**
 * POSTs one CloudEvent (structured JSON) to a subscriber, signed by the Standard Webhooks scheme,
 * and says how it went: the status on a 2xx; else an AppError whose code decides whether the job
 * retries (the catalogue's `retryable`): unreachable, timed out, 5xx → retried; 429 → retried
 * after its Retry-After; any other answer (3xx: redirects are not followed, 4xx) → dead at once.
 */
export async function deliverEvent(target: DeliveryTarget, event: CloudEvent, options: { lookup: LookupFunction | undefined; timeoutMs?: number; now?: () => number }): Promise<{ status: number }> {
  const body = JSON.stringify(event);
  const timestamp = Math.floor((options.now ?? Date.now)() / 1000);
  const url = new URL(target.url);
  const headers = {
    'content-type': 'application/cloudevents+json',
    'content-length': String(Buffer.byteLength(body)),
    'user-agent': 'omnigate-webhooks/1',
    'webhook-id': event.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(target.secret, event.id, timestamp, body),
  };
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, { method: 'POST', headers, signal: AbortSignal.timeout(timeoutMs), ...(options.lookup ? { lookup: options.lookup } : {}) }, resolve);
    req.once('error', reject);
    req.end(body);
  }).catch((err: unknown) => {
    throw failureOf(err, target.url, timeoutMs);
  });
  await drain(response).catch(() => undefined);
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) return { status };
  if (status === 429) {
    const retryAfterS = Number(response.headers['retry-after']);
    throw new AppError('RATE_LIMITED', `the receiver answered 429`, Number.isFinite(retryAfterS) && retryAfterS >= 0 ? { retryAfterMs: retryAfterS * 1000 } : {});
  }
  if (status >= 500) throw new AppError('UPSTREAM_UNAVAILABLE', `the receiver answered ${status}`);
  throw new AppError('WEBHOOK_REJECTED', `the receiver answered ${status}; deliveries are not retried after a ${status < 400 ? 'redirect' : 'client error'}`, { status });
}

function failureOf(err: unknown, url: string, timeoutMs: number): AppError {
  const error = err as { name?: string; code?: string; message?: string };
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return new AppError('UPSTREAM_TIMEOUT', `the receiver did not answer within ${timeoutMs} ms`);
  if (error.code === 'EPRIVATEADDRESS') return new AppError('FORBIDDEN', error.message ?? `${url} resolves to a private address`);
  return new AppError('UPSTREAM_UNAVAILABLE', `the receiver could not be reached: ${error.code ?? error.message ?? 'network error'}`);
}

async function drain(response: IncomingMessage): Promise<void> {
  let read = 0;
  for await (const chunk of response) {
    read += (chunk as Buffer).length;
    if (read > MAX_ANSWER_BYTES) {
      response.destroy();
      return;
    }
  }
}
