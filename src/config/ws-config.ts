import { readEnvArea } from './env-area.ts';

export const DEFAULT_WS_HEARTBEAT_MS = 25_000;
export const DEFAULT_WS_MAX_FRAME_BYTES = 64 * 1024;
export const DEFAULT_WS_MAX_BUFFERED_BYTES = 1024 * 1024;
export const DEFAULT_WS_RATE_PER_SEC = 20;
export const DEFAULT_WS_RATE_BURST = 60;
export const DEFAULT_WS_PRESENCE_TTL_MS = 60_000;
export const DEFAULT_WS_CLOSE_GRACE_MS = 1_000;
export const DEFAULT_WS_HISTORY_PAGE = 200;

/** The chat socket's limits and timers (`OMNIGATE_WS_*`). */
export interface WsConfig {
  /** The server pings every socket this often; one that answered nothing within one period is closed (4008). */
  readonly heartbeatMs: number;
  /** Largest frame a client may send, in bytes; a larger one closes the socket (1009). */
  readonly maxFrameBytes: number;
  /** Bytes a socket may have waiting for its client; past it the socket is closed (4011) and the client resumes. */
  readonly maxBufferedBytes: number;
  /** Frames a client may send per second on average (token bucket), and in one burst; past it: 4429. */
  readonly ratePerSec: number;
  readonly rateBurst: number;
  /** How long an agent socket's presence lasts in Redis without a heartbeat renewing it (a killed node's agents go offline then). */
  readonly presenceTtlMs: number;
  /** How long a closed socket's client has to answer the close before the connection is cut. */
  readonly closeGraceMs: number;
  /** Events per history read when a socket catches up (resume, gap). */
  readonly historyPage: number;
}

const WS_ENV_SCHEMA = {
  type: 'object',
  properties: {
    OMNIGATE_WS_HEARTBEAT_MS: { type: 'integer', minimum: 50, maximum: 600_000, default: DEFAULT_WS_HEARTBEAT_MS },
    OMNIGATE_WS_MAX_FRAME_BYTES: { type: 'integer', minimum: 1024, maximum: 16 * 1024 * 1024, default: DEFAULT_WS_MAX_FRAME_BYTES },
    OMNIGATE_WS_MAX_BUFFERED_BYTES: { type: 'integer', minimum: 1024, maximum: 256 * 1024 * 1024, default: DEFAULT_WS_MAX_BUFFERED_BYTES },
    OMNIGATE_WS_RATE_PER_SEC: { type: 'number', exclusiveMinimum: 0, maximum: 100_000, default: DEFAULT_WS_RATE_PER_SEC },
    OMNIGATE_WS_RATE_BURST: { type: 'integer', minimum: 1, maximum: 1_000_000, default: DEFAULT_WS_RATE_BURST },
    OMNIGATE_WS_PRESENCE_TTL_MS: { type: 'integer', minimum: 100, maximum: 3_600_000, default: DEFAULT_WS_PRESENCE_TTL_MS },
    OMNIGATE_WS_CLOSE_GRACE_MS: { type: 'integer', minimum: 0, maximum: 60_000, default: DEFAULT_WS_CLOSE_GRACE_MS },
    OMNIGATE_WS_HISTORY_PAGE: { type: 'integer', minimum: 1, maximum: 10_000, default: DEFAULT_WS_HISTORY_PAGE },
  },
} as const;

/** The variables this area reads. */

/** Reads the OMNIGATE_WS_* variables; every problem is listed (the caller reports them with the rest). */
export function parseWsConfig(env: NodeJS.ProcessEnv): { readonly config?: WsConfig; readonly problems: readonly string[] } {
  const { raw, problems } = readEnvArea(env, WS_ENV_SCHEMA);
  if (problems.length > 0) return { problems };
  const config: WsConfig = Object.freeze({
    heartbeatMs: raw.OMNIGATE_WS_HEARTBEAT_MS as number,
    maxFrameBytes: raw.OMNIGATE_WS_MAX_FRAME_BYTES as number,
    maxBufferedBytes: raw.OMNIGATE_WS_MAX_BUFFERED_BYTES as number,
    ratePerSec: raw.OMNIGATE_WS_RATE_PER_SEC as number,
    rateBurst: raw.OMNIGATE_WS_RATE_BURST as number,
    presenceTtlMs: raw.OMNIGATE_WS_PRESENCE_TTL_MS as number,
    closeGraceMs: raw.OMNIGATE_WS_CLOSE_GRACE_MS as number,
    historyPage: raw.OMNIGATE_WS_HISTORY_PAGE as number,
  });
  // A lease renewed by heartbeats must outlive the time between two of them.
  if (config.presenceTtlMs <= config.heartbeatMs) return { problems: ['OMNIGATE_WS_PRESENCE_TTL_MS must be longer than OMNIGATE_WS_HEARTBEAT_MS (heartbeats renew presence)'] };
  return { config, problems: [] };
}
