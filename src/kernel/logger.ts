import { pino, type Logger, type LevelWithSilent } from 'pino';
import { REDACTED, type Secrets } from './secrets.ts';

export type { Logger };

/**
 * Paths redacted in every log line, whatever their value: credential headers and the usual
 * secret names. Secret values the gateway knows are scrubbed from the whole line besides (see
 * Secrets), which is what makes redaction hold at any depth and in encoded forms.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-signature"]',
  '*.clientSecret',
  '*.apiToken',
  '*.apiKey',
  '*.hmacSecret',
  '*.webhookSecret',
  '*.password',
  '*.secret',
  'config',
];

/** The one root logger; made in main.ts and passed down. Every line it writes is scrubbed of `secrets`. */
export function createLogger(options: { level: LevelWithSilent; name?: string; secrets?: Secrets }, destination?: pino.DestinationStream): Logger {
  // Asynchronous and batched: lines wait in memory until 4 KB of them or LOG_FLUSH_MS have passed,
  // then go out in one write. A write per line was a syscall per request (a synchronous one, at
  // first), and one at a time while none is in flight still was, at a paced rate (the refusal
  // profile, bench/README.md). pino flushes what is left when the process exits.
  const sink = destination ?? pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES });
  const { secrets } = options;
  let unflushed = false;
  if (!destination) {
    setInterval(() => {
      if (!unflushed) return;
      unflushed = false;
      (sink as unknown as { flush(): void }).flush();
    }, LOG_FLUSH_MS).unref();
  }
  return pino(
    {
      name: options.name ?? 'omnigate',
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    {
      write: (line: string) => {
        unflushed = true;
        sink.write(secrets ? secrets.scrub(line) : line);
      },
      // logger.flush(cb): what is batched goes out now.
      flush: (cb?: (err?: Error) => void) => ('flush' in sink && typeof sink.flush === 'function' ? sink.flush(cb) : cb?.()),
    } as pino.DestinationStream,
  );
}

/** A log line reaches the output at most this long after it was logged (sooner in a busy second). */
export const LOG_FLUSH_MS = 50;
const LOG_BATCH_BYTES = 4096;

const LEVEL_METHODS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = (): void => undefined;

/** What a lazy child says of its bindings without becoming a pino child. */
const KNOWN_BINDINGS = Symbol('known bindings');
const parsedBindings = new WeakMap<Logger, Record<string, unknown>>();

function bindingsOf(log: Logger): Record<string, unknown> {
  const known = (log as Logger & { [KNOWN_BINDINGS]?: () => Record<string, unknown> })[KNOWN_BINDINGS];
  if (known) return known();
  let parsed = parsedBindings.get(log);
  if (!parsed) parsedBindings.set(log, (parsed = log.bindings()));
  return parsed;
}

/**
 * `parent.child(bindings)`, made only when something is logged through it. Most requests and
 * calls log nothing of their own (the access line is written from the request's fields), and a
 * pino child costs its bindings' serialisation and redaction up front. `bindings()` answers
 * without making it (a long-lived parent's are parsed once).
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let real: Logger | undefined;
  const all = () => ({ ...bindingsOf(parent), ...bindings });
  return new Proxy(parent, {
    get(_target, prop) {
      if (prop === KNOWN_BINDINGS || prop === 'bindings') return all;
      // A line below the level is not written: no child needed to drop it.
      if (!real && typeof prop === 'string' && LEVEL_METHODS.has(prop) && !parent.isLevelEnabled(prop)) return noop;
      real ??= parent.child(bindings);
      const value: unknown = Reflect.get(real, prop, real);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real) : value;
    },
  });
}
