/**
 * Health as X-Ray colours it: a node's ring is split by its share of requests that were ok (green),
 * client errors (4xx other than 429, yellow), throttled (429, purple) and faults (5xx, red). Colour is
 * never alone: every share also has a label and a text form.
 */

export type HealthKind = 'ok' | 'error' | 'throttle' | 'fault';

export const HEALTH_ORDER: readonly HealthKind[] = ['ok', 'error', 'throttle', 'fault'];

export const HEALTH_COLOURS: Readonly<Record<HealthKind, string>> = {
  ok: '#3a9c3a',
  error: '#e6b400',
  throttle: '#8a4fd1',
  fault: '#d13212',
};

export const HEALTH_LABELS: Readonly<Record<HealthKind, string>> = {
  ok: 'OK',
  error: 'Error (4xx)',
  throttle: 'Throttled (429)',
  fault: 'Fault (5xx)',
};

/** Counts as our API reports them: `errorCount` includes throttles. */
export interface HealthCounts {
  count: number;
  okCount: number;
  errorCount: number;
  throttleCount: number;
  faultCount: number;
}

export type Shares = Record<HealthKind, number>;

/** Each kind's share of the requests (0..1, summing to 1 when there were requests; all 0 otherwise). */
export function healthShares(c: HealthCounts): Shares {
  const throttle = Math.max(0, c.throttleCount);
  const error = Math.max(0, c.errorCount - throttle);
  const fault = Math.max(0, c.faultCount);
  const total = Math.max(c.count, error + throttle + fault);
  if (total <= 0) return { ok: 0, error: 0, throttle: 0, fault: 0 };
  // ok is what is left: a request is ok, an error, a throttle or a fault, never two of them
  const ok = Math.max(0, total - error - throttle - fault);
  return { ok: ok / total, error: error / total, throttle: throttle / total, fault: fault / total };
}

/** The worst kind with any requests: fault > throttle > error > ok; `none` without requests. */
export function worstHealth(s: Shares): HealthKind | 'none' {
  if (s.fault > 0) return 'fault';
  if (s.throttle > 0) return 'throttle';
  if (s.error > 0) return 'error';
  return s.ok > 0 ? 'ok' : 'none';
}

/** A share as people read it: "<0.1 %" for tiny, one decimal below 10 %, whole numbers above. */
export function formatShare(x: number): string {
  if (x <= 0) return '0 %';
  if (x < 0.001) return '<0.1 %';
  const p = x * 100;
  return `${p < 10 ? p.toFixed(1) : p.toFixed(0)} %`;
}

/** The text form of a ring: the non-ok shares, worst first, or "all OK" (or "no requests"). */
export function healthText(s: Shares): string {
  const parts = (['fault', 'throttle', 'error'] as const).filter((k) => s[k] > 0).map((k) => `${formatShare(s[k])} ${k === 'fault' ? '5xx' : k === 'throttle' ? '429' : '4xx'}`);
  if (parts.length) return parts.join(' · ');
  return s.ok > 0 ? 'all OK' : 'no requests';
}

export interface RingSegment {
  kind: HealthKind;
  /** SVG stroke-dasharray for a circle of the given circumference */
  dashArray: string;
  /** SVG stroke-dashoffset: segments follow each other clockwise from 12 o'clock */
  dashOffset: number;
}

/**
 * Arcs of a ring of circumference `c`, one per kind with a share, in HEALTH_ORDER. A tiny share still
 * gets a visible sliver (`minArc`), taken from the largest segment, so one fault in thousands shows.
 */
export function ringSegments(s: Shares, c: number, minArc = 2): RingSegment[] {
  const kinds = HEALTH_ORDER.filter((k) => s[k] > 0);
  const lengths = kinds.map((k) => s[k] * c);
  if (kinds.length > 1) {
    let borrowed = 0;
    lengths.forEach((l, i) => {
      if (l < minArc) {
        borrowed += minArc - l;
        lengths[i] = minArc;
      }
    });
    const biggest = lengths.indexOf(Math.max(...lengths));
    lengths[biggest] = Math.max(minArc, lengths[biggest]! - borrowed);
  }
  let at = 0;
  return kinds.map((kind, i) => {
    const len = lengths[i]!;
    // a circle's stroke starts at 3 o'clock: offset by a quarter to start at 12
    const seg = { kind, dashArray: `${round(len)} ${round(c - len)}`, dashOffset: round(c / 4 - at) };
    at += len;
    return seg;
  });
}

const round = (x: number) => Math.round(x * 1000) / 1000;
