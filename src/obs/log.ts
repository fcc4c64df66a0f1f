import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Paths censored in every log line: webhook secrets and signatures, credentials. A backstop only: code
 * must never pass them to a log call in the first place.
 */
export const REDACT_PATHS = [
  'secret',
  '*.secret',
  'previousSecret',
  '*.previousSecret',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["webhook-signature"]',
  'headers["webhook-signature"]',
];

/** Root logger; components take a child with `{ component }`. `destination` defaults to stdout (tests capture it). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const opts = { level, base: { service: 'trace-insights' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(opts, destination) : pino(opts);
}
export type { Logger };
