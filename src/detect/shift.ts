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

/**
 * The same test stratified by operation (a node that serves several): each request is judged against
 * its own operation's history quantile, so a change in the mix of operations moves nothing. The counts
 * beyond add up over operations; their null is the request-weighted share p̄ = Σ nⱼ·p0ⱼ / Σ nⱼ (a binomial
 * with that mean has at least the variance of the true Poisson-binomial: conservative); φ comes from the
 * history windows' stratified residuals. Thresholds and observed values are request-weighted geometric
 * means of the operations' own, so that their ratio is the typical operation's (one operation three
 * times slower among as many unchanged is 1.7×, not diluted by the slower one's larger milliseconds). Operations without history in the window are left out (nothing to judge them by).
 */
export function stratifiedShiftTest(window: ReadonlyMap<string, Histogram>, history: ReadonlyArray<ReadonlyMap<string, Histogram>>, quantile: number, direction: 'up' | 'down'): ShiftTest | undefined {
  const strata: Array<{ op: string; t: number; p0: number; k: number; n: number; thresholdMs: number; observedMs: number; kept: Set<number> }> = [];
  for (const [op, now] of window) {
    const n = total(now);
    if (n === 0) continue;
    const own = history.map((h) => h.get(op) ?? new Map<string, number>());
    const keptList = keepHistory(own);
    const kept = new Set(own.map((h, i) => (keptList.includes(h) ? i : -1)).filter((i) => i >= 0));
    const pooled: Histogram = new Map();
    for (const i of kept) mergeInto(pooled, own[i]!);
    const N = total(pooled);
    if (N === 0) continue;
    const t = thresholdBucket(pooled, quantile);
    const beyond = countBeyond(pooled, t, direction);
    const p0 = Math.min(beyond > 0 ? beyond / N : 1 / (N + 1), 1 - 1 / (N + 1));
    strata.push({ op, t, p0, k: countBeyond(now, t, direction), n, thresholdMs: quantiles(pooled, [quantile])[0]!, observedMs: quantiles(now, [quantile])[0]!, kept });
  }
  const n = strata.reduce((s, x) => s + x.n, 0);
  if (n === 0) return undefined;
  const k = strata.reduce((s, x) => s + x.k, 0);
  const p0 = strata.reduce((s, x) => s + x.n * x.p0, 0) / n;
  const residuals: number[] = [];
  history.forEach((h, i) => {
    let kh = 0;
    let eh = 0;
    let vh = 0;
    for (const x of strata) {
      const hist = h.get(x.op);
      if (!hist || !x.kept.has(i)) continue;
      const nh = total(hist);
      kh += countBeyond(hist, x.t, direction);
      eh += nh * x.p0;
      vh += nh * x.p0 * (1 - x.p0);
    }
    if (vh > 0) residuals.push((kh - eh) / Math.sqrt(vh));
  });
  const phi = overdispersion(residuals);
  const geo = (f: (x: (typeof strata)[number]) => number) => Math.exp(strata.reduce((s, x) => s + x.n * Math.log(Math.max(f(x), 1e-3)), 0) / n);
  return {
    direction,
    quantile,
    thresholdMs: geo((x) => x.thresholdMs),
    observedMs: geo((x) => x.observedMs),
    k,
    n,
    p0,
    phi,
    pValue: quasiBinomialUpperTail(k, n, p0, phi),
    share: Math.max(0, (k / n - p0) / (1 - p0)),
    historyWindows: history.length,
  };
}
