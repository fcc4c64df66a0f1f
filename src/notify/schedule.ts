/** Longest wait a Retry-After header can ask for: a receiver must not park a delivery for weeks. */
export const MAX_RETRY_AFTER_SECONDS = 86400;

/**
 * The wait before retry number `retry` (1-based) in ms, ±20 % jitter so a recovering receiver is not hit
 * by every retry at once; null when the schedule is exhausted.
 */
export function retryDelayMs(schedule: readonly number[], retry: number, random: () => number = Math.random): number | null {
  const base = schedule[retry - 1];
  if (base === undefined) return null;
  return Math.round(base * 1000 * (0.8 + 0.4 * random()));
}

/** A Retry-After header (delta-seconds or an HTTP date) in seconds, capped; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  let s: number;
  if (/^\d+$/.test(v)) s = Number(v);
  else {
    const t = Date.parse(v);
    if (Number.isNaN(t)) return undefined;
    s = Math.max(0, (t - nowMs) / 1000);
  }
  return Math.min(s, MAX_RETRY_AFTER_SECONDS);
}
