/**
 * Pieces of JSON text for the trace builder, which writes documents as text directly:
 * JSON.stringify costs about half a microsecond per nested object, and a segment has dozens.
 * Every piece here is byte-for-byte what JSON.stringify would write for the same value.
 */

const FRAC = Array.from({ length: 1000 }, (_, f) => (f === 0 ? '' : '.' + String(f).padStart(3, '0').replace(/0+$/, '')));

/** Epoch milliseconds (an integer) as JSON epoch seconds, i.e. `JSON.stringify(ms / 1000)`. */
export function secondsJson(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s + FRAC[ms - s * 1000]!;
}

/** A JSON string literal. */
export const q = (s: string): string => JSON.stringify(s);
