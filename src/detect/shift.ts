import { ZERO_BUCKET, mergeInto, quantiles, type Histogram } from '../aggregate/histogram.js';
import { binomialResidual, medianOf, overdispersion, quasiBinomialUpperTail } from './dispersion.js';

/**
 * Has a latency-like distribution (a duration, an own time, a gap) moved against its history? Robust to
 * heavy tails and several modes: it counts the window's requests beyond a quantile of the pooled history
 * (a sign test, no shape assumed) and judges that count by a binomial test whose sample size is corrected
 * by the overdispersion the same counts showed in the history windows (dispersion.ts).
 *
 * The count is read from histograms: a request is beyond the threshold when its bucket lies strictly
 * beyond the threshold's bucket, and the null share p0 is the share of the pooled history beyond that same
 * bucket, so the bucket width cannot bias the test.
 */
export interface ShiftTest {
  direction: 'up' | 'down';
  /** the history quantile the threshold was taken at */
  quantile: number;
  /** the threshold: that quantile of the pooled history, ms */
  thresholdMs: number;
  /** the same quantile in the window, ms */
  observedMs: number;
  /** window requests beyond the threshold, of n */
  k: number;
  n: number;
  /** share of history requests beyond the threshold */
  p0: number;
  /** overdispersion of the history windows' counts (≥ 1) */
  phi: number;
  pValue: number;
  /** share of the window's requests the shift affects, (k/n − p0)/(1 − p0), 0..1 */
  share: number;
  /** history windows the threshold and φ come from */
  historyWindows: number;
}

const index = (b: string) => (b === ZERO_BUCKET ? -Infinity : Number(b));

function total(h: Histogram): number {
  let n = 0;
  for (const c of h.values()) n += c;
  return n;
}

function thresholdBucket(pooled: Histogram, q: number): number {
  const sorted = [...pooled].filter(([, c]) => c > 0).map(([b, c]) => [index(b), c] as const).sort((a, b) => a[0] - b[0]);
  const n = sorted.reduce((s, [, c]) => s + c, 0);
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (const [i, c] of sorted) {
    seen += c;
    if (seen >= rank) return i;
  }
  return sorted[sorted.length - 1]?.[0] ?? -Infinity;
}

/** Requests in buckets strictly above (up) or below (down) bucket index `t`. */
export function countBeyond(h: Histogram, t: number, direction: 'up' | 'down'): number {
  let k = 0;
  for (const [b, c] of h) {
    const i = index(b);
    if (direction === 'up' ? i > t : i < t) k += c;
  }
  return k;
}

/**
 * History windows whose median is an outlier against the others (a past incident, in either direction)
 * are left out: |log median − median of them| > 4 robust standard deviations, and at least a factor of
 * 1.5 off. Windows with fewer than 3 requests cannot be judged and are kept.
 */
export function keepHistory(history: readonly Histogram[]): Histogram[] {
  const meds = history.map((h) => (total(h) >= 3 ? Math.log(Math.max(quantiles(h, [0.5])[0]!, 1e-6)) : NaN));
  const finite = meds.filter((x) => Number.isFinite(x));
  if (finite.length < 4) return [...history];
  const m = medianOf(finite);
  const sd = 1.4826 * medianOf(finite.map((x) => Math.abs(x - m)));
  const limit = Math.max(4 * sd, Math.log(1.5));
  return history.filter((_, i) => !(Math.abs(meds[i]! - m) > limit));
}

/**
 * Tests the window against history at one quantile, in one direction. Undefined when there is no
 * history or no request in the window.
 */
export function shiftTest(window: Histogram, history: readonly Histogram[], quantile: number, direction: 'up' | 'down'): ShiftTest | undefined {
  const n = total(window);
  const pooled: Histogram = new Map();
  for (const h of history) mergeInto(pooled, h);
  const N = total(pooled);
  if (n === 0 || N === 0) return undefined;
  const t = thresholdBucket(pooled, quantile);
  // a share never seen in history is still not zero: one request in one more than history had
  const beyond = countBeyond(pooled, t, direction);
  const p0 = Math.min(beyond > 0 ? beyond / N : 1 / (N + 1), 1 - 1 / (N + 1));
  const phi = overdispersion(history.filter((h) => total(h) > 0).map((h) => binomialResidual(countBeyond(h, t, direction), total(h), p0)));
  const k = countBeyond(window, t, direction);
  const [thresholdMs] = quantiles(pooled, [quantile]);
  const [observedMs] = quantiles(window, [quantile]);
  return {
    direction,
    quantile,
    thresholdMs: thresholdMs!,
    observedMs: observedMs!,
    k,
    n,
    p0,
    phi,
    pValue: quasiBinomialUpperTail(k, n, p0, phi),
    share: Math.max(0, (k / n - p0) / (1 - p0)),
    historyWindows: history.length,
  };
}
