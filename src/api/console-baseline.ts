import { addTo, quantiles, type Histogram } from '../aggregate/histogram.js';
import { summarize, type Stats } from '../aggregate/stats.js';
import { binomialUpperBound } from '../detect/binomial.js';
import type { DetectOptions } from '../detect/options.js';

export type Band = [low: number, high: number];

/** One window of a node as the console charts it: what was observed and the range that was expected. */
export interface WindowPoint {
  start: number;
  count: number;
  faultRate: number | null;
  errorRate: number | null;
  throttleRate: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  /** history windows with traffic behind the bands; below `minHistoryWindows` there are no bands */
  baselineWindows: number;
  expected: {
    count: Band;
    faultRate: Band | null;
    errorRate: Band | null;
    throttleRate: Band | null;
    p50Ms: Band | null;
    p90Ms: Band | null;
    p99Ms: Band | null;
  } | null;
}

type Opts = Pick<DetectOptions, 'alpha' | 'historyWindows' | 'minHistoryWindows' | 'minRateIncrease' | 'minLatencyRatio'>;

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * Each window's expected bands, by the detector's rules applied to the previous `historyWindows` windows
 * with traffic (its recent baseline): a rate is expected up to the binomial bound at level `alpha` for
 * this window's sample size, and at least `minRateIncrease` above the history's rate; a percentile within
 * `minLatencyRatio` of the pooled history's; requests within ±3√m of the history's mean m (Poisson). The
 * detector also leaves out past incidents and may use a daily profile: the bands show the rule, and the
 * insight's evidence carries the baseline each decision really used.
 *
 * Windows for which `exclude` says so (those of a past insight on the node) never join the history, as
 * the detector leaves past incidents out of its baselines.
 *
 * @param windows consecutive windows, oldest first; the first `lead` of them are history only
 */
export function rollingBaseline(windows: ReadonlyArray<{ start: number; stats: Stats }>, lead: number, o: Opts, exclude: (start: number) => boolean = () => false): WindowPoint[] {
  const H = o.historyWindows;
  const pooled: Histogram = new Map();
  let n = 0;
  let faults = 0;
  let errors = 0;
  let throttles = 0;
  let withTraffic = 0;
  const move = (s: Stats, sign: 1 | -1) => {
    if (s.count === 0) return;
    withTraffic += sign;
    n += sign * s.count;
    faults += sign * s.fault;
    errors += sign * s.error;
    throttles += sign * s.throttle;
    for (const [b, c] of s.histogram) {
      addTo(pooled, b, sign * c);
      if (pooled.get(b) === 0) pooled.delete(b);
    }
  };
  const out: WindowPoint[] = [];
  windows.forEach((w, i) => {
    if (i >= lead) {
      const s = summarize(w.stats);
      const point: WindowPoint = {
        start: w.start,
        count: s.count,
        faultRate: s.faultRate,
        errorRate: s.errorRate,
        throttleRate: s.throttleRate,
        p50Ms: s.p50Ms,
        p90Ms: s.p90Ms,
        p99Ms: s.p99Ms,
        baselineWindows: withTraffic,
        expected: null,
      };
      if (withTraffic >= o.minHistoryWindows && n > 0) {
        const m = n / withTraffic;
        const k = w.stats.count;
        const rate = (hits: number): Band | null => {
          if (k === 0) return null;
          const p = hits / n;
          return [0, r6(Math.min(1, Math.max(binomialUpperBound(k, p, o.alpha) / k, p + o.minRateIncrease)))];
        };
        const [q50, q90, q99] = quantiles(pooled, [0.5, 0.9, 0.99]);
        const lat = (q: number | undefined): Band | null => (q === undefined || Number.isNaN(q) ? null : [r3(q / o.minLatencyRatio), r3(q * o.minLatencyRatio)]);
        point.expected = {
          count: [r3(Math.max(0, m - 3 * Math.sqrt(m))), r3(m + 3 * Math.sqrt(m))],
          faultRate: rate(faults),
          errorRate: rate(errors),
          throttleRate: rate(throttles),
          p50Ms: lat(q50),
          p90Ms: lat(q90),
          p99Ms: lat(q99),
        };
      }
      out.push(point);
    }
    // the pool holds the H windows before the next one (excluded ones count as empty)
    if (!exclude(w.start)) move(w.stats, 1);
    const leaving = i >= H ? windows[i - H] : undefined;
    if (leaving && !exclude(leaving.start)) move(leaving.stats, -1);
  });
  return out;
}
