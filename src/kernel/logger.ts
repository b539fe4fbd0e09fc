import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Paths redacted in every log line: credentials never reach the logs. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-signature"]',
  '*.clientSecret',
  '*.apiToken',
  '*.hmacSecret',
  '*.password',
  '*.secret',
  'config',
];

/** The one root logger; made in main.ts and passed down. */
export function createLogger(options: { level: LevelWithSilent; name?: string }, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: options.name ?? 'omnigate',
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
