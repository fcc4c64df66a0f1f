import { ZERO_BUCKET, bucketValue, quantiles } from '../aggregate/histogram.js';
import type { Stats } from '../aggregate/stats.js';
import type { Baseline } from './baseline.js';
import { binomialUpperBound, binomialUpperTail, scoreOf } from './binomial.js';
import type { DetectOptions } from './options.js';

export type Category = 'FAULT' | 'THROTTLE' | 'LATENCY';

/** Why a node was judged anomalous: everything a person needs to check the decision by hand. */
export interface Evidence {
  category: Category;
  metric: 'faultRate' | 'throttleRate' | 'p90Ms';
  observed: number;
  /** the range the observed value was expected in */
  expected: { low: number; high: number };
  /** the baseline value the test compares against */
  baseline: number;
  test: string;
  pValue: number;
  /** −log10(pValue) */
  score: number;
  /** requests in the window */
  sampleSize: number;
  /** the count the test is about (faults, throttles, requests slower than the baseline p90) */
  count: number;
  /** history the baseline was learned from */
  baselineWindows: number;
  baselineSource: Baseline['source'];
}

const round = (x: number, d = 6) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

function rateEvidence(category: 'FAULT' | 'THROTTLE', k: number, n: number, baseRate: number, base: Baseline, o: DetectOptions): Evidence | undefined {
  if (n === 0) return undefined;
  // a rate never seen in history is still not exactly zero: floor it so one fault is not a miracle
  const p0 = Math.max(baseRate, 1 / Math.max(base.requests, 1000), 0.001);
  const pValue = binomialUpperTail(k, n, p0);
  const observed = k / n;
  if (!(pValue < o.alpha && k >= o.minCount && observed - p0 >= o.minRateIncrease)) return undefined;
  return {
    category,
    metric: category === 'FAULT' ? 'faultRate' : 'throttleRate',
    observed: round(observed),
    expected: { low: 0, high: round(Math.max(binomialUpperBound(n, p0, o.alpha) / n, p0 + o.minRateIncrease)) },
    baseline: round(p0),
    test: `binomial one-sided: P(X ≥ ${k} | n = ${n}, p = ${round(p0, 4)})`,
    pValue,
    score: round(scoreOf(pValue), 3),
    sampleSize: n,
    count: k,
    baselineWindows: base.windows,
    baselineSource: base.source,
  };
}

/** Requests in a histogram slower than `ms` (by bucket; a bucket straddling `ms` counts as slower only above its midpoint). */
export function countAbove(s: Stats, ms: number): number {
  let n = 0;
  for (const [b, c] of s.histogram) {
    if (b === ZERO_BUCKET) continue;
    if (bucketValue(b) > ms) n += c;
  }
  return n;
}

function latencyEvidence(obs: Stats, base: Baseline, o: DetectOptions): Evidence | undefined {
  const n = obs.count;
  if (n < o.minLatencySamples || !(base.p90Ms > 0)) return undefined;
  const [p90 = NaN] = quantiles(obs.histogram, [0.9]);
  if (!(p90 >= base.p90Ms * o.minLatencyRatio)) return undefined;
  // Under the baseline, one request in ten is slower than its p90: that share is the test's null.
  const k = countAbove(obs, base.p90Ms);
  const pValue = binomialUpperTail(k, n, 0.1);
  if (!(pValue < o.alpha)) return undefined;
  return {
    category: 'LATENCY',
    metric: 'p90Ms',
    observed: round(p90, 3),
    expected: { low: 0, high: round(base.p90Ms * o.minLatencyRatio, 3) },
    baseline: round(base.p90Ms, 3),
    test: `binomial one-sided on requests slower than the baseline p90: P(X ≥ ${k} | n = ${n}, p = 0.1)`,
    pValue,
    score: round(scoreOf(pValue), 3),
    sampleSize: n,
    count: k,
    baselineWindows: base.windows,
    baselineSource: base.source,
  };
}

export interface NodeVerdict {
  /** too little history to judge: nothing is flagged */
  coldStart: boolean;
  anomalies: Evidence[];
}

/** Judges one node's window against its baseline. */
export function judgeNode(obs: Stats, base: Baseline, o: DetectOptions): NodeVerdict {
  if (base.windows < o.minHistoryWindows) return { coldStart: true, anomalies: [] };
  const anomalies: Evidence[] = [];
  const f = rateEvidence('FAULT', obs.fault, obs.count, base.faultRate, base, o);
  if (f) anomalies.push(f);
  const t = rateEvidence('THROTTLE', obs.throttle, obs.count, base.throttleRate, base, o);
  if (t) anomalies.push(t);
  const l = latencyEvidence(obs, base, o);
  if (l) anomalies.push(l);
  return { coldStart: false, anomalies };
}
