/**
 * Settles with `work`, or rejects with `onAbort(signal.reason)` the moment `signal` aborts, even
 * if `work` never settles. A late failure of `work` is handled, never left unhandled.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, onAbort: (reason: unknown) => unknown = (reason) => reason): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(onAbort(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      work.catch(() => undefined);
      reject(onAbort(signal.reason));
    };
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}
