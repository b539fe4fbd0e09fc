// Type declarations for signature.mjs, for TypeScript callers.
export declare const SIGNATURE_PREFIX: 'sha256=';
type RawBody = string | Uint8Array | ArrayBuffer;
/** Lower-case hex HMAC-SHA256 of "<timestamp>.<rawBody>". */
export declare function hmacHex(secret: string, timestamp: number | string, rawBody: RawBody): string;
/** The complete X-Signature header value: "sha256=<hex>". */
export declare function sign(secret: string, timestamp: number | string, rawBody: RawBody): string;
export declare function verify(
  secret: string,
  timestamp: number | string,
  rawBody: RawBody,
  signatureHeader: string | undefined,
): boolean;
