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
  const sink = destination ?? pino.destination(1);
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
