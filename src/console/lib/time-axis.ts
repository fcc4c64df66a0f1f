/** Time ranges, scales and axis ticks for the console's own drawings (timelines; uPlot has its own axes). */

const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

/** A linear map from [d0, d1] to [r0, r1]; a zero-width domain maps everything to the middle. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (x: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (x) => r0 + (x - d0) * k;
}

/** The smallest step (seconds) from a fixed ladder of round durations that gives at most `maxTicks` ticks. */
export function tickStep(from: number, to: number, maxTicks: number): number {
  const span = Math.max(to - from, 1);
  for (const s of STEPS) if (span / s <= maxTicks) return s;
  return Math.ceil(span / maxTicks / 86400) * 86400;
}

/** Tick times (epoch seconds) on round multiples of the step (UTC), within [from, to]. */
export function timeTicks(from: number, to: number, maxTicks = 8): number[] {
  const step = tickStep(from, to, maxTicks);
  const out: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) out.push(t);
  return out;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A tick's label, precise enough for the step: seconds only when ticks are less than a minute apart; the date once they are a day apart. UTC unless `local`. */
export function tickLabel(t: number, step: number, local = false): string {
  const d = new Date(t * 1000);
  const [Y, M, D, h, m, s] = local
    ? [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()]
    : [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  if (step >= 86400) return `${Y}-${pad(M)}-${pad(D)}`;
  if (step < 60) return `${pad(h)}:${pad(m)}:${pad(s)}`;
  return `${pad(h)}:${pad(m)}`;
}

/** A duration in seconds as people say it: "45 s", "15 min", "2 h 30 min", "3 d". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86400)} d${Math.floor((s % 86400) / 3600) ? ` ${Math.floor((s % 86400) / 3600)} h` : ''}`;
}

export interface TimeRange {
  from: number;
  to: number;
  /** a relative range ("last 15 min") that follows the clock */
  live: boolean;
  /** seconds, for a live range */
  last?: number;
}

export const PRESETS: ReadonlyArray<{ label: string; seconds: number }> = [
  { label: 'Last 5 min', seconds: 300 },
  { label: 'Last 15 min', seconds: 900 },
  { label: 'Last 1 h', seconds: 3600 },
  { label: 'Last 6 h', seconds: 21600 },
  { label: 'Last 24 h', seconds: 86400 },
  { label: 'Last 7 d', seconds: 604800 },
];

/**
 * The range a page's query string asks for: `from` and `to` (epoch seconds) for a fixed range, `last`
 * (seconds) for a live one; last 15 minutes when it says nothing usable.
 */
export function parseRange(query: string, now: number): TimeRange {
  const q = new URLSearchParams(query);
  const from = Number(q.get('from'));
  const to = Number(q.get('to'));
  if (q.has('from') && q.has('to') && Number.isFinite(from) && Number.isFinite(to) && to > from) return { from, to, live: false };
  const last = Number(q.get('last'));
  const seconds = q.has('last') && Number.isFinite(last) && last > 0 ? Math.min(last, 7 * 86400) : 900;
  return { from: now - seconds, to: now, live: true, last: seconds };
}

/** The query string that reproduces a range (a live range stays live). */
export function rangeQuery(r: TimeRange): string {
  return r.live ? `last=${r.last ?? Math.round(r.to - r.from)}` : `from=${Math.floor(r.from)}&to=${Math.ceil(r.to)}`;
}

/** A round step (1, 2 or 5 × 10^k) giving at most `maxTicks` ticks over `span` (any unit). */
export function niceStep(span: number, maxTicks: number): number {
  if (!(span > 0)) return 1;
  const raw = span / Math.max(1, maxTicks);
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

/** A duration in milliseconds for a trace: "850 µs", "12.5 ms", "1.25 s". */
export function formatMillis(ms: number): string {
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
