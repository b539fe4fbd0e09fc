// What bench/events.ts and the gateway it forks (bench/lib/event-publisher.ts) share.

/** The API key the events bench gives its gateways (`OMNIGATE_API_KEYS=bench:<key>`). */
export const EVENTS_BENCH_KEY = 'bench-key-0123456789abcdef';

/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes on one machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

export type PublisherCommand = { readonly start: { readonly rate: number; readonly seconds: number; readonly run: string; readonly bytes: number } } | { readonly stop: true };
export type PublisherReport =
  | { readonly ready: { readonly url: string } }
  | { readonly tick: { readonly published: number; readonly behind: number; readonly depth: number } }
  | { readonly done: { readonly published: number; readonly drainedMs: number; readonly depth: number; readonly cpuMs: number; readonly dropped: number } };
