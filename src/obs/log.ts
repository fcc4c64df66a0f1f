import { pino, type Logger } from 'pino';

/** Root logger; components take a child with `{ component }`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'trace-insights' } });
}
export type { Logger };
