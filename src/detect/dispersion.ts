import { gammaln, median, medianAbsoluteDeviation } from 'simple-statistics';
import { binomialUpperTail } from './binomial.js';

/**
 * Tests calibrated to a node's own noise. Real traffic varies from window to window more than sampling
 * alone explains (bursts, a shifting operation mix, drift): a test that assumes binomial or Poisson noise
 * fires on every wobble. So each count is judged by its binomial (or Poisson) test with the sample size
 * divided by the overdispersion φ that the node's own history windows showed: φ = 1 where history varied
 * as sampling predicts, φ = 4 where its spread was twice that. This is the quasi-likelihood correction
 * (McCullagh & Nelder, §4.5), with φ estimated robustly (MAD), so one past incident cannot inflate it.
 */

/** 1.4826·MAD estimates a standard deviation for normal data. */
const MAD_TO_SD = 1.4826;

/**
 * Overdispersion from standardized residuals of history windows ((observed − expected) / sd under the
 * null): their robust variance, never below 1 (less noise than sampling predicts is taken as sampling).
 * Fewer than 4 residuals tell nothing: 1.
 */
export function overdispersion(residuals: readonly number[]): number {
  const r = residuals.filter((x) => Number.isFinite(x));
  if (r.length < 4) return 1;
  const sd = MAD_TO_SD * medianAbsoluteDeviation(r);
  return Math.max(1, sd * sd);
}

/** Standardized residual of a binomial count: (k − np) / √(np(1−p)); 0 when the variance is 0. */
export function binomialResidual(k: number, n: number, p: number): number {
  const v = n * p * (1 - p);
  return v > 0 ? (k - n * p) / Math.sqrt(v) : 0;
}

/** Standardized residual of a Poisson count: (k − μ) / √μ; 0 when μ is 0. */
export function poissonResidual(k: number, mu: number): number {
  return mu > 0 ? (k - mu) / Math.sqrt(mu) : 0;
}

/**
 * P(X ≥ k) for a binomial count whose variance is φ times the binomial one: the exact binomial tail at
 * the effective sample size, k/φ of n/φ (rounded down and to nearest: a count worth less than a whole
 * request does not count).
 */
export function quasiBinomialUpperTail(k: number, n: number, p: number, phi: number): number {
  const f = Math.max(1, phi);
  return binomialUpperTail(Math.floor(k / f + 1e-9), Math.max(1, Math.round(n / f)), p);
}

function logPoissonPmf(k: number, mu: number): number {
  return k * Math.log(mu) - mu - gammaln(k + 1);
}

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  return Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** P(X ≥ k), X ~ Poisson(μ). */
export function poissonUpperTail(k: number, mu: number): number {
  if (k <= 0) return 1;
  if (mu <= 0) return 0;
  let s = -Infinity;
  for (let i = k; ; i++) {
    const t = logPoissonPmf(i, mu);
    s = logAdd(s, t);
    if (i > mu && t - s < -40) break;
    if (i > k + 100000) break;
  }
  return Math.min(1, Math.exp(s));
}

/** P(X ≤ k), X ~ Poisson(μ). */
export function poissonLowerTail(k: number, mu: number): number {
  if (k < 0) return 0;
  if (mu <= 0) return 1;
  let s = -Infinity;
  for (let i = Math.floor(k); i >= 0; i--) {
    const t = logPoissonPmf(i, mu);
    s = logAdd(s, t);
    if (i < mu && t - s < -40) break;
  }
  return Math.min(1, Math.exp(s));
}

/** Poisson tails at the effective count k/φ and mean μ/φ (the quasi-Poisson correction). */
export function quasiPoissonTail(k: number, mu: number, phi: number, direction: 'up' | 'down'): number {
  const f = Math.max(1, phi);
  return direction === 'up' ? poissonUpperTail(Math.floor(k / f + 1e-9), mu / f) : poissonLowerTail(Math.ceil(k / f - 1e-9), mu / f);
}

/** Median of finite values, NaN for none. */
export function medianOf(xs: readonly number[]): number {
  const f = xs.filter((x) => Number.isFinite(x));
  return f.length ? median(f) : NaN;
}
