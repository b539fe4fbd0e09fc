import { AppError } from '../../kernel/errors.ts';

/** Caps the calls in flight to one connector; a bounded queue waits a bounded time, then 503. */
export interface Bulkhead {
  /** Takes a slot (waiting at most maxWaitMs) and returns its release; rejects with CONNECTOR_SATURATED. */
  acquire(signal?: AbortSignal): Promise<() => void>;
  readonly inUse: number;
  readonly queued: number;
  readonly rejected: number;
}

export function createBulkhead(options: { connector: string; maxConcurrent: number; maxQueue: number; maxWaitMs: number }): Bulkhead {
  let inUse = 0;
  let rejected = 0;
  const waiting: Array<{ grant: () => void }> = [];

  const release = (): void => {
    const next = waiting.shift();
    if (next) next.grant();
    else inUse -= 1;
  };
  const once = (): (() => void) => {
    let done = false;
    return () => {
      if (!done) {
        done = true;
        release();
      }
    };
  };
  const saturated = (why: string): AppError => {
    rejected += 1;
    return new AppError('CONNECTOR_SATURATED', `connector ${options.connector} is at its limit of ${options.maxConcurrent} concurrent calls: ${why}`, { connector: options.connector });
  };

  return {
    get inUse() {
      return inUse;
    },
    get queued() {
      return waiting.length;
    },
    get rejected() {
      return rejected;
    },
    acquire(signal) {
      if (inUse < options.maxConcurrent) {
        inUse += 1;
        return Promise.resolve(once());
      }
      if (waiting.length >= options.maxQueue || options.maxWaitMs === 0) return Promise.reject(saturated('the queue is full'));
      return new Promise((resolve, reject) => {
        const entry = {
          grant: () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            resolve(once());
          },
        };
        const leave = (err: unknown) => {
          clearTimeout(timer);
          const at = waiting.indexOf(entry);
          if (at >= 0) waiting.splice(at, 1);
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        };
        const onAbort = () => leave(signal?.reason);
        const timer = setTimeout(() => leave(saturated(`no slot freed within ${options.maxWaitMs} ms`)), options.maxWaitMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        waiting.push(entry);
      });
    },
  };
}
