const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
const AGO = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;

/** `15m`, `1h`, `2d`, `1h30m` → seconds; undefined when `v` is not such a duration. */
export function parseDuration(v: string): number | undefined {
  const s = v.trim();
  if (!AGO.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(PART)) total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return total;
}

/**
 * A `--since`/`--until` value as epoch seconds: a duration before `now` (`15m`, `2d`), an ISO 8601 time
 * (`2026-12-07T13:00:00Z`; without a zone it is read as UTC, so the answer does not depend on the
 * machine), or epoch seconds. Undefined when it is none of those.
 */
export function parseTimeArg(v: string, now: number): number | undefined {
  const s = v.trim();
  const ago = parseDuration(s);
  if (ago !== undefined) return now - ago;
  if (/^\d{9,10}(?:\.\d+)?$/.test(s)) return Number(s);
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    let iso = s.replace(' ', 'T');
    if (!iso.includes('T')) iso += 'T00:00:00';
    if (!/(?:Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
    const ms = Date.parse(iso);
    return Number.isFinite(ms) ? ms / 1000 : undefined;
  }
  return undefined;
}
