/** How a promise ended, and when (ms since the `since` given to {@link outcomeOf}). */
export type Outcome =
  | { readonly settled: false }
  | { readonly settled: true; readonly ok: boolean; readonly value?: unknown; readonly error?: unknown; readonly atMs: number };

/** Waits for a promise up to `timeoutMs`; never throws, never leaves a rejection unhandled. */
export async function outcomeOf(promise: Promise<unknown>, timeoutMs: number, since = performance.now()): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), timeoutMs);
  });
  const settled = promise.then(
    (value): Outcome => ({ settled: true, ok: true, value, atMs: performance.now() - since }),
    (error: unknown): Outcome => ({ settled: true, ok: false, error, atMs: performance.now() - since }),
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error's class and message, for assertion messages. */
export const describeError = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** How often {@link until} looks at its condition. */
const POLL_MS = 5;

/** Resolves true once `condition()` holds, or false after `timeoutMs`: a wait on a condition, never a fixed sleep. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}
