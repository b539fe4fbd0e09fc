/** Bytes kept under a key (an install's tarball, parked for the other nodes to fetch). */
export interface BlobStore {
  /** Keeps `bytes` under `key` for `ttlMs` (without it: until put again), replacing what was there and its lifetime. */
  put(key: string, bytes: Uint8Array, ttlMs?: number): Promise<void>;
  /** The bytes under `key`, or undefined once they expired (or were never put). */
  get(key: string): Promise<Buffer | undefined>;
}
