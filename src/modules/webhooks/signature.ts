import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `Webhook-Signature:
 * v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`. The key is the
 * subscription's secret as UTF-8, or, for a secret in the scheme's own `whsec_<base64>` form,
 * the bytes it encodes, so that the scheme's libraries verify it as they are.
 */
export function signingKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

export function signWebhook(secret: string, id: string, timestampS: number, body: string): string {
  return `v1,${createHmac('sha256', signingKey(secret)).update(`${id}.${timestampS}.${body}`).digest('base64')}`;
}

/** True when one of the header's space-separated signatures is the right one. */
export function verifyWebhook(secret: string, id: string, timestampS: number, body: string, header: string): boolean {
  const expected = Buffer.from(signWebhook(secret, id, timestampS, body));
  return header.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
