import { gammaln } from 'simple-statistics';

/**
 * Exact binomial tails, in log space so they hold for the tens of requests a sampled window has and for
 * the tens of thousands a busy one has. These are the tests behind every rate decision: "k faults out of
 * n" is judged against the baseline rate with the sample size built in.
 */

function logPmf(k: number, n: number, p: number): number {
  if (p <= 0) return k === 0 ? 0 : -Infinity;
  if (p >= 1) return k === n ? 0 : -Infinity;
  return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  // sum from k upwards; terms fall off geometrically past the mode, so stop when they stop mattering
  let logSum = -Infinity;
  const mode = Math.floor((n + 1) * p);
  for (let i = k; i <= n; i++) {
    const t = logPmf(i, n, p);
    logSum = logSum === -Infinity ? t : Math.max(logSum, t) + Math.log1p(Math.exp(-Math.abs(logSum - t)));
    if (i > mode && t - logSum < -40) break;
  }
  return Math.min(1, Math.exp(logSum));
}

/**
 * The largest count still within the expected range: the smallest c with P(X > c) ≤ alpha, i.e. a count
 * above c would be flagged at level alpha.
 */
export function binomialUpperBound(n: number, p: number, alpha: number): number {
  if (n <= 0) return 0;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (binomialUpperTail(mid + 1, n, p) <= alpha) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** −log10 of a p-value, the score we report (capped so it stays a finite number). */
export function scoreOf(pValue: number): number {
  return Math.min(300, -Math.log10(Math.max(pValue, 1e-300)));
}
