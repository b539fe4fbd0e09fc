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

type Rule = true | { readonly [key: string]: Rule };
const WILDCARD = '*';

/** REDACT_PATHS as a tree (`true`: censor the whole value there); a wildcard only as the first segment. */
function compileRedaction(paths: readonly string[]): Readonly<Record<string, Rule>> {
  const root: Record<string, Rule> = {};
  for (const path of paths) {
    const parts = [...path.matchAll(/\[(["'])(.*?)\1\]|([^.[\]]+)/g)].map((m) => (m[2] ?? m[3]) as string);
    if (parts.slice(1).includes(WILDCARD)) throw new Error(`redact path ${path}: a wildcard only as the first segment`);
    let node = root;
    for (const [i, part] of parts.entries()) {
      const at = node[part];
      if (at === true) break;
      if (i === parts.length - 1) {
        node[part] = true;
        break;
      }
      node = (at ?? (node[part] = {})) as Record<string, Rule>;
    }
  }
  return root;
}

const REDACTION = compileRedaction(REDACT_PATHS);

/** A copy of an object (an error keeps its prototype, message and stack) whose `key` is `value`. */
function withValue(object: object, key: string, value: unknown): object {
  const copy: object = Array.isArray(object) ? [...(object as unknown[])] : Object.create(Object.getPrototypeOf(object) as object | null, Object.getOwnPropertyDescriptors(object));
  // An error's stack is V8's accessor of the original's: the copy gets its text.
  if (object instanceof Error) Object.defineProperty(copy, 'stack', { value: object.stack, writable: true, configurable: true });
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function censorIn(value: unknown, rule: Rule, censor: string): unknown {
  if (rule === true) return censor;
  if (typeof value !== 'object' || value === null) return value;
  let result: object = value;
  for (const key of Object.keys(rule)) {
    if (!Object.hasOwn(value, key)) continue;
    const before = (value as Record<string, unknown>)[key];
    const after = censorIn(before, rule[key] as Rule, censor);
    if (after !== before) result = withValue(result, key, after);
  }
  return result;
}

/**
 * `line` with REDACT_PATHS censored, the caller's objects untouched (copied where something is
 * censored); the same object when nothing is. pino's own `redact` option did this per key of
 * every line (a wildcard path applies to each), parsing each path again each time: 22 % of
 * everything a refused request allocated (bench/README.md).
 */
export function redactLine<T extends object>(line: T, censor: string = REDACTED): T {
  const wildcard = REDACTION[WILDCARD];
  let result: Record<string, unknown> | undefined;
  for (const key in line) {
    if (!Object.hasOwn(line, key)) continue;
    const before: unknown = line[key];
    const rule = REDACTION[key];
    let after = rule === undefined ? before : censorIn(before, rule, censor);
    if (wildcard !== undefined && after !== censor) after = censorIn(after, wildcard, censor);
    if (after !== before) (result ??= { ...line } as Record<string, unknown>)[key] = after;
  }
  return (result ?? line) as T;
}

/**
 * pino with REDACT_PATHS censored in every line and in every child's bindings (which pino's
 * formatters do not see: a child's are serialised once, by `child`).
 */
export function redactingPino(options: Omit<pino.LoggerOptions, 'redact' | 'formatters'>, destination: pino.DestinationStream, censor: string = REDACTED): Logger {
  const logger: Logger = pino({ ...options, formatters: { log: (line) => redactLine(line, censor) } }, destination);
  const child = logger.child as unknown as (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => Logger;
  // Children inherit this from the root (a pino child's prototype is its parent).
  logger.child = function (this: Logger, bindings: pino.Bindings, childOptions?: pino.ChildLoggerOptions) {
    return child.call(this, redactLine(bindings, censor), childOptions);
  } as unknown as typeof logger.child;
  return logger;
}

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
  return redactingPino(
    {
      name: options.name ?? 'omnigate',
      level: options.level,
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
