import { median, medianAbsoluteDeviation } from 'simple-statistics';
import { mergeInto, quantiles, type Histogram } from '../aggregate/histogram.js';
import type { Stats } from '../aggregate/stats.js';

/**
 * What a node's window is expected to look like, learned from its history windows. Robust: windows whose
 * fault, throttle or latency level is an outlier against the others (median + 4·MAD, e.g. a past
 * incident) are left out before pooling, so one bad hour does not teach the baseline that bad is normal.
 */
export interface Baseline {
  /** history windows with traffic that the baseline was learned from (after outliers were dropped) */
  windows: number;
  /** windows dropped as outliers */
  outlierWindows: number;
  requests: number;
  faultRate: number;
  throttleRate: number;
  /** pooled latency histogram of the kept windows */
  histogram: Histogram;
  p50Ms: number;
  p90Ms: number;
  /** mean time a request spends in the node's own code (not waiting on calls), ms */
  ownTimeMeanMs: number;
  /** which history: 'recent' windows, or the 'daily' profile (same time on previous days) */
  source: 'recent' | 'daily';
}

function outlierMask(values: number[]): boolean[] {
  if (values.length < 4) return values.map(() => false);
  const m = median(values);
  const mad = medianAbsoluteDeviation(values);
  const limit = m + 4 * Math.max(mad, 1e-9) + 1e-9;
  return values.map((v) => v > limit && v > m * 1.5 + 0.01);
}

/** Learns a baseline from the node's stats in each history window (windows without traffic are ignored). */
export function learnBaseline(history: readonly Stats[], source: Baseline['source'] = 'recent'): Baseline {
  const withTraffic = history.filter((s) => s.count > 0);
  const faultRates = withTraffic.map((s) => s.fault / s.count);
  const throttleRates = withTraffic.map((s) => s.throttle / s.count);
  const p90s = withTraffic.map((s) => (s.count >= 5 ? quantiles(s.histogram, [0.9])[0]! : NaN));
  const finiteP90 = p90s.filter((x) => Number.isFinite(x));
  const latencyOut = outlierMask(finiteP90);
  let li = 0;
  const latencyOutlier = p90s.map((x) => (Number.isFinite(x) ? latencyOut[li++]! : false));
  const fo = outlierMask(faultRates);
  const to = outlierMask(throttleRates);
  let requests = 0;
  let faults = 0;
  let throttles = 0;
  let ownTime = 0;
  let kept = 0;
  const histogram: Histogram = new Map();
  withTraffic.forEach((s, i) => {
    if (fo[i] || to[i] || latencyOutlier[i]) return;
    kept++;
    requests += s.count;
    faults += s.fault;
    throttles += s.throttle;
    ownTime += s.ownTimeSeconds;
    mergeInto(histogram, s.histogram);
  });
  const [p50 = NaN, p90 = NaN] = quantiles(histogram, [0.5, 0.9]);
  return {
    windows: kept,
    outlierWindows: withTraffic.length - kept,
    requests,
    faultRate: requests ? faults / requests : 0,
    throttleRate: requests ? throttles / requests : 0,
    histogram,
    p50Ms: p50,
    p90Ms: p90,
    ownTimeMeanMs: requests ? (ownTime * 1000) / requests : 0,
    source,
  };
}
