import type { Logger } from './logger.ts';

/**
 * What a running gateway must close, registered by each part as it starts. Disposal runs in
 * reverse order of registration (Node's AsyncDisposableStack), so a part that uses another is
 * closed before it: whatever starts later, on top of what is already there, stops first.
 */
export interface Disposables {
  /** Registers how to close one part; `name` is what the log says if closing it fails. */
  defer(name: string, close: () => Promise<unknown> | unknown): void;
  /**
   * Closes every part once, last registered first. A part that fails to close is logged and the
   * others still close; then it rejects with that failure (several: a SuppressedError chain).
   */
  dispose(): Promise<void>;
}

/** How long a part may take to close before the log says which one is still closing. */
export const SLOW_CLOSE_MS = 5_000;

export function createDisposables(log: Logger, slowCloseMs = SLOW_CLOSE_MS): Disposables {
  const stack = new AsyncDisposableStack();
  return {
    defer(name, close) {
      stack.defer(async () => {
        const started = performance.now();
        log.debug({ part: name }, 'closing a part');
        // A shutdown that hangs says where: the part it waits on, named while it waits.
        const slow = setTimeout(() => log.warn({ part: name, waitedMs: slowCloseMs }, 'a part is slow to close at shutdown'), slowCloseMs);
        try {
          await close();
          log.debug({ part: name, ms: Math.round(performance.now() - started) }, 'part closed');
        } catch (err) {
          log.error({ err, part: name }, 'could not close a part at shutdown');
          throw err;
        } finally {
          clearTimeout(slow);
        }
      });
    },
    // Disposing twice is a no-op: the stack is empty after the first time.
    dispose: () => stack.disposeAsync(),
  };
}
