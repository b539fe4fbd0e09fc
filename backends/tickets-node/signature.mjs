// Request signing for the tickets backend.
//
//   X-Timestamp: <epoch ms>
//   X-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">
//
// Pure helpers with no side effects, so tests and clients can import them.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_PREFIX = 'sha256=';

function toBuffer(data) {
  if (data === undefined || data === null) return Buffer.alloc(0);
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  throw new TypeError('rawBody must be a string, Buffer, TypedArray or ArrayBuffer');
}

/** Lower-case hex HMAC-SHA256 of "<timestamp>.<rawBody>". */
export function hmacHex(secret, timestamp, rawBody) {
  return createHmac('sha256', secret)
    .update(String(timestamp))
    .update('.')
    .update(toBuffer(rawBody))
    .digest('hex');
}

/** The complete X-Signature header value: "sha256=<hex>". */
export function sign(secret, timestamp, rawBody) {
  return SIGNATURE_PREFIX + hmacHex(secret, timestamp, rawBody);
}

/**
 * Constant-time check of an X-Signature header value against the expected one.
 * Returns false (never throws) for anything malformed.
 */
export function verify(secret, timestamp, rawBody, signatureHeader) {
  if (typeof signatureHeader !== 'string' || !signatureHeader.startsWith(SIGNATURE_PREFIX)) return false;
  const given = signatureHeader.slice(SIGNATURE_PREFIX.length).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(given)) return false;
  const expected = hmacHex(secret, timestamp, rawBody);
  return timingSafeEqual(Buffer.from(given, 'ascii'), Buffer.from(expected, 'ascii'));
}
