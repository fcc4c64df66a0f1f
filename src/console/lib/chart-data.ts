import type { Band, WindowPoint } from './types.js';

export type ChartMetric = 'count' | 'faultRate' | 'errorRate' | 'throttleRate' | 'p50Ms' | 'p90Ms' | 'p99Ms';

export interface ChartSeries {
  /** window starts, epoch seconds */
  x: number[];
  observed: Array<number | null>;
  low: Array<number | null>;
  high: Array<number | null>;
  /** indices of windows whose observed value lies outside the expected band */
  outside: number[];
}

/** One metric's observed values and expected band per window, in the arrays uPlot draws. */
export function chartSeries(points: readonly WindowPoint[], metric: ChartMetric): ChartSeries {
  const out: ChartSeries = { x: [], observed: [], low: [], high: [], outside: [] };
  points.forEach((p, i) => {
    const v = p[metric];
    const band: Band | null = p.expected ? p.expected[metric] : null;
    out.x.push(p.start);
    out.observed.push(v);
    out.low.push(band ? band[0] : null);
    out.high.push(band ? band[1] : null);
    if (v !== null && band && (v > band[1] || v < band[0])) out.outside.push(i);
  });
  return out;
}

/** Time spans [start, end) to shade as anomalous: the parts of the insights that fall in the chart (an active one up to its end). */
export function anomalousSpans(insights: ReadonlyArray<{ startTime: number; endTime: number | null; lastUpdateTime: number }>, from: number, to: number, windowSeconds: number): Array<[number, number]> {
  const spans = insights
    .map((i): [number, number] => [Math.max(from, i.startTime), Math.min(to, i.endTime ?? Math.max(to, i.lastUpdateTime, i.startTime + windowSeconds))])
    .filter(([a, b]) => b > a)
    .sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else merged.push([s[0], s[1]]);
  }
  return merged;
}
