import type { Histogram } from '../aggregate/histogram.js';
import { scoreOf } from './binomial.js';
import { binomialResidual, medianOf, overdispersion, poissonResidual, quasiBinomialUpperTail, quasiPoissonTail } from './dispersion.js';
import type { DetectOptions } from './options.js';
import { keepHistory, shiftTest, stratifiedShiftTest, type ShiftTest } from './shift.js';

export type Category = 'FAULT' | 'THROTTLE' | 'LATENCY';

/**
 * What a piece of evidence measures:
 * - `faultRate`, `throttleRate`: share of the node's requests that faulted (5xx) or were throttled (429);
 * - `latencyMs`: the node's response time (up: slower; down: requests end early, a change of structure);
 * - `ownTimeMs`: time the node spends in its own code, not waiting on calls;
 * - `gapMs`: on an edge, the caller's view of a call minus the callee's own (the network in between);
 * - `callsPerRequest`: on an edge, calls per request of the caller (calls that stop, or multiply).
 */
export type Metric = 'faultRate' | 'throttleRate' | 'latencyMs' | 'ownTimeMs' | 'gapMs' | 'callsPerRequest';

/** Why a node or an edge was judged anomalous: everything a person needs to check the decision by hand. */
export interface Evidence {
  category: Category;
  metric: Metric;
  direction: 'up' | 'down';
  observed: number;
  /** the range the observed value was expected in */
  expected: { low: number; high: number };
  /** the baseline value the test compares against */
  baseline: number;
  test: string;
  pValue: number;
  /** −log10(pValue) */
  score: number;
  /** requests (or calls) in the window */
  sampleSize: number;
  /** the count the test is about (faults, requests beyond the threshold, calls) */
  count: number;
  /** overdispersion of the history, the factor the test's sample size was divided by (≥ 1) */
  phi: number;
  /** share of the window's requests the change affects (0..1) */
  share: number;
  /** history windows the baseline was learned from */
  baselineWindows: number;
  baselineSource: 'recent' | 'daily';
  /** the operation (method and URL path) the evidence is about, when it is about one */
  operation?: string;
  /**
   * The change is felt by the node's callers or clients (response time, faults, throttles, the calls
   * requests make, the time calls take): such evidence can open an insight. Own time, and changes too
   * small to matter, only say where the trouble of an insight starts (a deploy that makes a service's
   * own work a little slower is not an incident).
   */
  impact: boolean;
  /**
   * Overwhelming: p-value below `alphaStrong` on a change that fills the window (at least `strongShare`
   * of its requests changed, or, for a rate, a significant excess in both halves of the window). An
   * insight may open on it after a single window.
   */
  strong: boolean;
}

const round = (x: number, d = 6) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

/** A count in one window: k of n (faults of requests; calls of caller requests). */
export interface Count {
  k: number;
  n: number;
}

/** A window's count, with the part of it that started in the second half of the window. */
export interface WindowCount extends Count {
  late?: Count;
}

function keepRates(history: readonly Count[]): Count[] {
  const withTraffic = history.filter((h) => h.n > 0);
  const K = withTraffic.reduce((s, h) => s + h.k, 0);
  const N = withTraffic.reduce((s, h) => s + h.n, 0);
  if (withTraffic.length < 4 || N === 0) return withTraffic;
  // windows far above the others (a past incident) do not teach the baseline
  const p = K / N;
  const r = withTraffic.map((h) => binomialResidual(h.k, h.n, Math.max(p, 1e-6)));
  const sorted = [...r].sort((a, b) => a - b);
  const med = sorted[Math.floor(sorted.length / 2)]!;
  const sd = Math.max(1, 1.4826 * [...r.map((x) => Math.abs(x - med))].sort((a, b) => a - b)[Math.floor(r.length / 2)]!);
  return withTraffic.filter((_, i) => r[i]! <= med + 4 * sd);
}

/**
 * History windows whose calls per request are far from the others, either way (a retry storm, an
 * earlier outage), are left out: |residual − median| > 4 robust standard deviations (at least 1).
 */
function keepRatios(history: readonly Count[]): Count[] {
  if (history.length < 4) return [...history];
  const K = history.reduce((s, h) => s + h.k, 0);
  const N = history.reduce((s, h) => s + h.n, 0);
  if (!K || !N) return [...history];
  const r = history.map((h) => poissonResidual(h.k, (K / N) * h.n));
  const med = medianOf(r);
  const sd = Math.max(1, 1.4826 * medianOf(r.map((x) => Math.abs(x - med))));
  return history.filter((_, i) => Math.abs(r[i]! - med) <= 4 * sd);
}

/** A fault or throttle rate against its history: quasi-binomial, one-sided (up). */
export function judgeRate(category: 'FAULT' | 'THROTTLE', now: WindowCount, history: readonly Count[], source: Evidence['baselineSource'], o: DetectOptions): Evidence | undefined {
  if (now.n === 0) return undefined;
  const kept = keepRates(history);
  const K = kept.reduce((s, h) => s + h.k, 0);
  const N = kept.reduce((s, h) => s + h.n, 0);
  // a rate never seen in history is still not exactly zero: floor it so one fault is not a miracle
  const p0 = Math.max(N ? K / N : 0, 1 / Math.max(N, 1000), 0.001);
  const phi = overdispersion(kept.map((h) => binomialResidual(h.k, h.n, p0)));
  const pValue = quasiBinomialUpperTail(now.k, now.n, p0, phi);
  const observed = now.k / now.n;
  if (!(pValue < o.alpha && now.k >= o.minCount && observed - p0 >= o.minRateIncrease)) return undefined;
  // fills the window: each half has an excess of its own (a blip inside the window has not)
  const half = (c: Count) => c.n > 0 && c.k > c.n * p0 && quasiBinomialUpperTail(c.k, c.n, p0, phi) < o.alpha;
  const strong = pValue < o.alphaStrong && now.late !== undefined && half(now.late) && half({ k: now.k - now.late.k, n: now.n - now.late.n });
  return {
    category,
    metric: category === 'FAULT' ? 'faultRate' : 'throttleRate',
    direction: 'up',
    observed: round(observed),
    expected: { low: 0, high: round(p0 + o.minRateIncrease) },
    baseline: round(p0),
    test: `quasi-binomial one-sided: P(X ≥ ${now.k} | n = ${now.n}, p = ${round(p0, 4)}, φ = ${round(phi, 2)})`,
    pValue,
    score: round(scoreOf(pValue), 3),
    sampleSize: now.n,
    count: now.k,
    phi: round(phi, 3),
    share: round(Math.max(0, (observed - p0) / (1 - p0)), 3),
    baselineWindows: kept.length,
    baselineSource: source,
    impact: true,
    strong,
  };
}

const UP_QUANTILES = [0.5, 0.9];
const DOWN_QUANTILES = [0.5, 0.1];

function matters(t: ShiftTest, o: DetectOptions): boolean {
  if (t.direction === 'up') return t.observedMs >= t.thresholdMs * o.minLatencyRatio && t.observedMs - t.thresholdMs >= o.minLatencyDeltaMs;
  return t.observedMs * o.minLatencyRatio <= t.thresholdMs && t.thresholdMs - t.observedMs >= o.minLatencyDeltaMs;
}

/**
 * A latency-like distribution against its history, in one direction: the median and a tail quantile
 * are both tested (so a shift of the whole and a shift of the slow tenth are both seen), the p-value
 * doubled for the two looks. A shift large enough to matter (`minLatencyRatio`, `minLatencyDeltaMs`) in
 * a response time or a gap is impact; own time, and a significant shift too small to matter, are
 * evidence of where (not `impact`).
 */
export function judgeShift(metric: 'latencyMs' | 'ownTimeMs' | 'gapMs', direction: 'up' | 'down', now: Histogram, history: readonly Histogram[], source: Evidence['baselineSource'], o: DetectOptions): Evidence | undefined {
  const kept = keepHistory(history);
  return shiftEvidence(metric, direction, (q) => shiftTest(now, kept, q, direction), '', source, o);
}

/**
 * judgeShift for a node that serves several operations: each request against its own operation's
 * history (shift.ts stratifiedShiftTest), so a change in the mix of operations is no shift at all.
 */
export function judgeStratifiedShift(direction: 'up' | 'down', now: ReadonlyMap<string, Histogram>, history: ReadonlyArray<ReadonlyMap<string, Histogram>>, source: Evidence['baselineSource'], o: DetectOptions): Evidence | undefined {
  return shiftEvidence('latencyMs', direction, (q) => stratifiedShiftTest(now, history, q, direction), ', each request against its own operation', source, o);
}

function shiftEvidence(metric: 'latencyMs' | 'ownTimeMs' | 'gapMs', direction: 'up' | 'down', testAt: (q: number) => ShiftTest | undefined, how: string, source: Evidence['baselineSource'], o: DetectOptions): Evidence | undefined {
  let best: ShiftTest | undefined;
  let bestMatters = false;
  for (const q of direction === 'up' ? UP_QUANTILES : DOWN_QUANTILES) {
    const t = testAt(q);
    if (!t || t.n < o.minLatencySamples) continue;
    // a shift large enough to matter wins over a more significant one that is not
    const m = matters(t, o);
    if (!best || (m && !bestMatters) || (m === bestMatters && t.pValue < best.pValue)) {
      best = t;
      bestMatters = m;
    }
  }
  if (!best) return undefined;
  const pValue = Math.min(1, 2 * best.pValue);
  if (!(pValue < o.alpha)) return undefined;
  const q = `p${Math.round(best.quantile * 100)}`;
  const beyond = direction === 'up' ? 'above' : 'below';
  const bound = direction === 'up' ? { low: 0, high: round(best.thresholdMs * o.minLatencyRatio, 3) } : { low: round(best.thresholdMs / o.minLatencyRatio, 3), high: Infinity };
  return {
    category: metric === 'latencyMs' && direction === 'down' ? 'FAULT' : 'LATENCY',
    metric,
    direction,
    observed: round(best.observedMs, 3),
    expected: bound,
    baseline: round(best.thresholdMs, 3),
    test: `quasi-binomial sign test on requests ${beyond} the history ${q} (${round(best.thresholdMs, 3)} ms${how}): P(X ≥ ${best.k} | n = ${best.n}, p = ${round(best.p0, 4)}, φ = ${round(best.phi, 2)}) × 2`,
    pValue,
    score: round(scoreOf(pValue), 3),
    sampleSize: best.n,
    count: best.k,
    phi: round(best.phi, 3),
    share: round(best.share, 3),
    baselineWindows: best.historyWindows,
    baselineSource: source,
    impact: bestMatters && metric !== 'ownTimeMs',
    strong: bestMatters && metric !== 'ownTimeMs' && pValue < o.alphaStrong && best.share >= o.strongShare,
  };
}

/**
 * Calls per caller request on an edge against its history: the calls are Poisson given the caller's
 * requests (quasi-Poisson with the history's overdispersion), two-sided: calls that stop being made
 * (a request that returns early) and calls that multiply (retries, loops).
 */
export function judgeCalls(now: Count, history: readonly Count[], source: Evidence['baselineSource'], o: DetectOptions): Evidence | undefined {
  if (now.n < o.minLatencySamples) return undefined;
  const withTraffic = keepRatios(history.filter((h) => h.n > 0));
  const K = withTraffic.reduce((s, h) => s + h.k, 0);
  const N = withTraffic.reduce((s, h) => s + h.n, 0);
  if (!N || !K) return undefined;
  const r = K / N;
  const phi = overdispersion(withTraffic.map((h) => poissonResidual(h.k, r * h.n)));
  return callsEvidence(now, r * now.n, phi, withTraffic.length, '', source, o);
}

/**
 * judgeCalls for a caller that serves several operations: the calls expected are those its requests of
 * each operation make by their own history, μ = Σ nⱼ·rⱼ, so that more of the requests that call (a shift
 * in the mix) is not more calls per request.
 */
export function judgeStratifiedCalls(now: ReadonlyMap<string, Count>, history: ReadonlyArray<ReadonlyMap<string, Count>>, source: Evidence['baselineSource'], o: DetectOptions): Evidence | undefined {
  let k = 0;
  let n = 0;
  let mu = 0;
  const rate = new Map<string, number>();
  for (const [op, c] of now) {
    if (c.n === 0) continue;
    const kept = keepRatios(history.map((h) => h.get(op)).filter((h): h is Count => h !== undefined && h.n > 0));
    const N = kept.reduce((s, h) => s + h.n, 0);
    if (!N) continue;
    const r = kept.reduce((s, h) => s + h.k, 0) / N;
    rate.set(op, r);
    k += c.k;
    n += c.n;
    mu += r * c.n;
  }
  if (n < o.minLatencySamples || !(mu > 0)) return undefined;
  const residuals: number[] = [];
  for (const h of history) {
    let kh = 0;
    let muh = 0;
    for (const [op, r] of rate) {
      const c = h.get(op);
      if (!c) continue;
      kh += c.k;
      muh += r * c.n;
    }
    if (muh > 0) residuals.push(poissonResidual(kh, muh));
  }
  return callsEvidence({ k, n }, mu, overdispersion(residuals), residuals.length, ', each request by its own operation', source, o);
}

function callsEvidence(now: Count, mu: number, phi: number, windows: number, how: string, source: Evidence['baselineSource'], o: DetectOptions): Evidence | undefined {
  const r = mu / now.n;
  const ratio = now.k / mu;
  const direction = ratio >= 1 ? 'up' : 'down';
  if (direction === 'down' ? !(ratio * o.minCallsRatio <= 1 && mu >= o.minLatencySamples) : !(ratio >= o.minCallsRatio)) return undefined;
  const pValue = quasiPoissonTail(now.k, mu, phi, direction);
  if (!(pValue < o.alpha)) return undefined;
  const share = Math.min(1, Math.abs(1 - ratio));
  return {
    category: 'FAULT',
    metric: 'callsPerRequest',
    direction,
    observed: round(now.k / now.n, 4),
    expected: { low: round(r / o.minCallsRatio, 4), high: round(r * o.minCallsRatio, 4) },
    baseline: round(r, 4),
    test: `quasi-Poisson ${direction === 'up' ? 'upper' : 'lower'} tail: P(X ${direction === 'up' ? '≥' : '≤'} ${now.k} | μ = ${round(mu, 2)} = ${now.n} requests × ${round(r, 3)}${how}, φ = ${round(phi, 2)})`,
    pValue,
    score: round(scoreOf(pValue), 3),
    sampleSize: now.n,
    count: now.k,
    phi: round(phi, 3),
    share: round(share, 3),
    baselineWindows: windows,
    baselineSource: source,
    impact: true,
    strong: pValue < o.alphaStrong && share >= o.strongShare,
  };
}

