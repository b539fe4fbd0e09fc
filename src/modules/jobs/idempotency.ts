import { createHash, randomUUID } from 'node:crypto';
import { AppError, isOutcomeUnknown, toAppError, toProblem } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { IdempotencyStore } from '../../ports/idempotency-store.ts';
import type { WriteGuard } from './write-guard.ts';

/** How long an answer is kept for replay. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A repeat while the first request runs is told to come back after this long. */
export const IN_USE_RETRY_AFTER_MS = 1_000;
/** `Idempotency-Key`: 1 to 255 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;

/** An answer as it is sent, and as it is stored for replay. */
export interface Answer {
  readonly status: number;
  readonly contentType: 'application/json' | 'application/problem+json';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  /** The job an asynchronous answer stands for; a replay shows its state now. */
  readonly jobId?: string;
}

export interface IdempotentRequest {
  /** The operation (`createTicket`): a key means something only within one. */
  readonly scope: string;
  readonly principal: string;
  readonly key: string;
  /** The request itself (see `fingerprintOf`): the same key with another request is refused. */
  readonly fingerprint: string;
  /** For a stored problem: its `instance` and `traceId`, as the error handler would write them. */
  readonly instance: string;
  readonly traceId: string;
  readonly log: Logger;
}

/**
 * Idempotency keys (the IETF Idempotency-Key header): the first request with a key runs; its
 * final answer (2xx, a 4xx no retry can change, or the failure of a write that started without a
 * token and whose outcome is unknown) is kept in Redis and replayed to every repeat with the same
 * request. Other failures let go of the key, so a repeat runs again. A repeat while the first still runs is 409
 * IDEMPOTENCY_KEY_IN_USE; the key with another request is 422 IDEMPOTENCY_KEY_REUSED. Without
 * Redis the guarantee cannot hold: 503 STORE_UNAVAILABLE.
 *
 * The work gets a guard: it calls `starting` just before its write, which records the write as
 * started (for the whole retention) or refuses it when Redis cannot. A started write whose answer
 * was never stored (the node died, Redis failed) is never simply run again: once its holder's lock
 * has lapsed, a repeat runs it again only if the write carried the token (the backend returns
 * what it made then), and otherwise answers that the outcome is unknown.
 */
export interface Idempotency {
  run(request: IdempotentRequest, work: (guard: WriteGuard) => Promise<Answer>): Promise<{ answer: Answer; isReplay: boolean }>;
}

export interface IdempotencyDeps {
  /** Where the keys' records live (Redis in the gateway, shared by every node). */
  readonly store: IdempotencyStore;
  /**
   * How long the first request holds the key, and how long a started write counts as still
   * running: longer than the request can run (its calls' deadlines).
   */
  readonly lockMs: number;
  readonly ttlMs?: number;
  /** The clock a started write's age is read by (the store's records age by the store's). */
  readonly now?: () => number;
}

type StoredRecord =
  | { readonly state: 'running'; readonly token: string; readonly fingerprint: string }
  | { readonly state: 'started'; readonly token: string; readonly fingerprint: string; readonly startedAt: number; readonly isRepeatSafe: boolean }
  | { readonly state: 'done'; readonly token: string; readonly fingerprint: string; readonly answer: Answer };

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

/** A request's identity for its key: its JSON body, whatever the order of members. */
export function fingerprintOf(body: unknown): string {
  return sha256(stableJson(body));
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Whether an error is the request's final answer (kept for replay) rather than a moment's
 * failure. The failure of a write that started without a token, with an unknown outcome, is final
 * too: the write may have happened, and running it again for a repeat could do it twice. A failure
 * before the write started (the client left during the lookup …) changed nothing, and a write
 * with a token is safe to repeat: a repeat runs again.
 */
const isFinal = (error: AppError, isUnsafeWriteStarted: boolean) => (error.status < 500 && !error.retryable) || (isUnsafeWriteStarted && isOutcomeUnknown(error));

export function createIdempotency(deps: IdempotencyDeps): Idempotency {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const ttlMs = deps.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
  const unavailable = (err?: unknown) =>
    new AppError('STORE_UNAVAILABLE', 'idempotency keys need the shared store (Redis), which is unavailable: retry later, or send the request without Idempotency-Key', {}, err === undefined ? undefined : { cause: err });
  const stored = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      throw unavailable(err);
    }
  };
  // Only the holder of the key (its token) may mark it, store the answer or let go of it; a repeat
  // takes over a lapsed started write the same way, by the token it read.
  const replace = (key: string, token: string, record: StoredRecord, ms: number) => stored(() => store.replace(key, token, record, ms));

  return {
    async run(request, work) {
      if (!store.isUp()) throw unavailable();
      const key = `omnigate:idempotency:${request.scope}:${request.principal}:${sha256(request.key)}`;
      const token = randomUUID();
      const running: StoredRecord = { state: 'running', token, fingerprint: request.fingerprint };

      // The key may expire between SET NX and GET: then try to take it again.
      for (let tries = 0; tries < 3; tries++) {
        if (await stored(() => store.claim(key, running, deps.lockMs))) {
          return { answer: await execute(key, token, request, work), isReplay: false };
        }
        const record = await stored(() => store.read<StoredRecord>(key));
        if (record === undefined) continue;
        if (record.fingerprint !== request.fingerprint) {
          throw new AppError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used with a different request body: use a new key for a new request');
        }
        if (record.state === 'done') return { answer: record.answer, isReplay: true };
        if (record.state === 'started' && now() - record.startedAt >= deps.lockMs) {
          if (!record.isRepeatSafe) {
            throw new AppError('UPSTREAM_TIMEOUT', `the first request with this Idempotency-Key started its write at ${new Date(record.startedAt).toISOString()} and its answer was lost: the outcome is unknown, so it is not written again; check the resource before sending it with a new key`);
          }
          // The write carried the token: running it again returns what the first made. The key
          // stays marked started under the new holder, in case it dies too.
          const retaken: StoredRecord = { ...record, token, startedAt: now() };
          if (await replace(key, record.token, retaken, ttlMs)) return { answer: await execute(key, token, request, work), isReplay: false };
          continue;
        }
        break;
      }
      throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'a request with this Idempotency-Key is still running: retry after it finishes', { retryAfterMs: IN_USE_RETRY_AFTER_MS });
    },
  };

  async function execute(key: string, token: string, request: IdempotentRequest, work: (guard: WriteGuard) => Promise<Answer>): Promise<Answer> {
    let isUnsafeWriteStarted = false;
    const guard: WriteGuard = {
      token: tokenOf(request),
      async starting(isRepeatSafe) {
        // Kept for the whole retention: whatever happens next, a repeat knows the write started.
        const started: StoredRecord = { state: 'started', token, fingerprint: request.fingerprint, startedAt: now(), isRepeatSafe };
        if (!(await replace(key, token, started, ttlMs))) throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'this request lost its hold on its Idempotency-Key before writing: retry', { retryAfterMs: IN_USE_RETRY_AFTER_MS });
        isUnsafeWriteStarted = !isRepeatSafe;
      },
    };
    const keep = async (answer: Answer) => {
      const done: StoredRecord = { state: 'done', token, fingerprint: request.fingerprint, answer };
      const kept = await store.replace(key, token, done, ttlMs).catch((err: unknown) => err);
      if (kept !== true) request.log.warn({ err: kept instanceof Error ? kept : undefined }, 'could not keep the answer of an idempotent request: the key stays held until its lock lapses, and a started write is run again only with its token');
    };
    let answer: Answer;
    try {
      answer = await work(guard);
    } catch (err) {
      const error = toAppError(err);
      if (isFinal(error, isUnsafeWriteStarted)) {
        await keep({ status: error.status, contentType: 'application/problem+json', headers: {}, body: { ...toProblem(error, request.instance), traceId: request.traceId } });
      } else {
        await store.release(key, token).catch(() => undefined);
      }
      throw err;
    }
    await keep(answer);
    return answer;
  }
}

/** The write's idempotency token: the same for every request with this key, of this owner and operation. */
function tokenOf(request: IdempotentRequest): string {
  return `idem_${createHash('sha256').update(`${request.scope}\n${request.principal}\n${request.key}`).digest('hex').slice(0, 40)}`;
}
