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
  // Asynchronous: a line is written at once when no write is in flight, and lines that come
  // meanwhile go out together, so a busy gateway makes one write for many (a synchronous write per
  // line was a syscall per request). pino flushes what is left when the process exits.
  const sink = destination ?? pino.destination({ dest: 1, sync: false });
  const { secrets } = options;
  return pino(
    {
      name: options.name ?? 'omnigate',
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    secrets ? { write: (line: string) => sink.write(secrets.scrub(line)) } : sink,
  );
}

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
