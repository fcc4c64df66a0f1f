import { describe, expect, it } from 'vitest';
import {
  binomialResidual,
  medianOf,
  overdispersion,
  poissonLowerTail,
  poissonResidual,
  poissonUpperTail,
  quasiBinomialUpperTail,
  quasiPoissonTail,
} from '../../src/detect/dispersion.js';
import { naivePoissonLower, naivePoissonUpper, naiveUpperTail } from '../helpers/window-stats.js';

/**
 * The noise model behind every decision: φ, how much more than sampling a node's history varied,
 * and the binomial and Poisson tails with the sample size divided by φ. Every expectation is worked
 * out by hand below (φ from the MAD, tails as sums of textbook terms).
 */

/** Relative closeness: |a - b| ≤ rel·|b|. */
const near = (a: number, b: number, rel = 1e-9) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b));

describe('overdispersion: robust variance of the history residuals, never below 1', () => {
  it('fewer than 4 residuals tell nothing: 1, however wild they are', () => {
    expect(overdispersion([])).toBe(1);
    expect(overdispersion([-40, 0, 40])).toBe(1);
    // non-finite residuals are dropped before counting: 3 finite ones left
    expect(overdispersion([NaN, Infinity, -40, 0, 40])).toBe(1);
  });

  it('residuals that do not vary (MAD 0) are sampling noise: 1', () => {
    expect(overdispersion([0, 0, 0, 0, 0])).toBe(1);
    expect(overdispersion([2.5, 2.5, 2.5, 2.5])).toBe(1);
    // more than half of them equal: the MAD is 0 even with one far off
    expect(overdispersion([1, 1, 1, 1, 30])).toBe(1);
  });

  it('[-2, -1, 0, 1, 2, 3]: median 0.5, deviations 2.5 1.5 0.5 0.5 1.5 2.5 → MAD 1.5 → φ = (1.4826·1.5)²', () => {
    const sd = 1.4826 * 1.5; // 2.2239
    near(overdispersion([-2, -1, 0, 1, 2, 3]), sd * sd); // 4.9457
    expect(overdispersion([-2, -1, 0, 1, 2, 3])).toBeCloseTo(4.94573, 5);
  });

  it('less spread than sampling predicts is taken as sampling: 1', () => {
    // median 0, deviations 0.5 0.25 0 0.25 0.5 → MAD 0.25 → (1.4826·0.25)² = 0.137 → 1
    expect(overdispersion([-0.5, -0.25, 0, 0.25, 0.5])).toBe(1);
  });

  it('one past incident cannot inflate it: [-1, 0, 1, -1, 0, 1] and the same with a residual of 50 both give 1.4826²', () => {
    // without: median 0, deviations 1 0 1 1 0 1 → MAD 1; with 50: deviations 0 0 1 1 1 1 50 → MAD 1
    near(overdispersion([-1, 0, 1, -1, 0, 1]), 1.4826 ** 2);
    near(overdispersion([-1, 0, 1, -1, 0, 1, 50]), 1.4826 ** 2);
  });
});

describe('standardized residuals', () => {
  it('binomial: (k − np) / √(np(1−p))', () => {
    // 15 of 100 at p = 0.1: (15 − 10) / √9 = 5/3
    near(binomialResidual(15, 100, 0.1), 5 / 3);
    // 2 of 1,000 at p = 0.005: (2 − 5) / √4.975
    near(binomialResidual(2, 1000, 0.005), -3 / Math.sqrt(4.975));
    expect(binomialResidual(5, 50, 0.1)).toBe(0);
  });

  it('binomial with no variance (p = 0 or 1, n = 0): 0', () => {
    expect(binomialResidual(3, 10, 0)).toBe(0);
    expect(binomialResidual(3, 10, 1)).toBe(0);
    expect(binomialResidual(0, 0, 0.5)).toBe(0);
  });

  it('Poisson: (k − μ) / √μ, and 0 when μ = 0', () => {
    near(poissonResidual(13, 9), 4 / 3);
    near(poissonResidual(190, 200), -10 / Math.sqrt(200));
    expect(poissonResidual(2, 0)).toBe(0);
  });
});

describe('quasiBinomialUpperTail: the binomial tail at k/φ of n/φ', () => {
  it('k = 10, n = 40, p = 0.1, φ = 4 → P(X ≥ 2 | 10, 0.1) = 1 − 0.9^10 − 10·0.1·0.9^9', () => {
    const p = 1 - 0.9 ** 10 - 10 * 0.1 * 0.9 ** 9; // 0.2639
    near(quasiBinomialUpperTail(10, 40, 0.1, 4), p);
    expect(quasiBinomialUpperTail(10, 40, 0.1, 4)).toBeCloseTo(0.263901, 6);
  });

  it('the count is rounded down and the sample size to nearest: k = 11, n = 42, φ = 4 → P(X ≥ 2 | 11, 0.1)', () => {
    // 11/4 = 2.75 → 2 (a part of a request is no evidence); 42/4 = 10.5 → 11
    near(quasiBinomialUpperTail(11, 42, 0.1, 4), 1 - 0.9 ** 11 - 11 * 0.1 * 0.9 ** 10);
    // 12/4 = 3 exactly, 41/4 = 10.25 → 10: P(X ≥ 3 | 10, 0.1)
    near(quasiBinomialUpperTail(12, 41, 0.1, 4), naiveUpperTail(3, 10, 0.1));
  });

  it('a whole effective count stays whole through floating point: k = 7, φ = 7/3 → 3, not 2', () => {
    // n = 21 → 21/(7/3) = 9: P(X ≥ 3 | 9, 0.1)
    near(quasiBinomialUpperTail(7, 21, 0.1, 7 / 3), naiveUpperTail(3, 9, 0.1));
  });

  it('φ = 1 is the plain binomial test; φ below 1 counts as 1', () => {
    // n = 30, p = 0.005: P(X ≥ 2) = 1 − q^30 − 30·p·q^29
    const q = 0.995;
    const plain = 1 - q ** 30 - 30 * 0.005 * q ** 29; // 0.00991
    near(quasiBinomialUpperTail(2, 30, 0.005, 1), plain, 1e-8);
    near(quasiBinomialUpperTail(2, 30, 0.005, 0.3), plain, 1e-8);
  });

  it('a count worth less than one request at the effective size is no evidence at all: p = 1', () => {
    // 3 of 3 at φ = 5: 3/5 → 0 requests of round(0.6) = 1
    expect(quasiBinomialUpperTail(3, 3, 0.1, 5)).toBe(1);
  });

  it('the same count weighs less the larger φ is', () => {
    // 30 of 1,000 at 0.5 %: φ = 1 → P(X ≥ 30 | 1000); φ = 11.046 → 30/φ → 2 of round(90.53) = 91
    const phi = 11.046;
    near(quasiBinomialUpperTail(30, 1000, 0.005, phi), 1 - 0.995 ** 91 - 91 * 0.005 * 0.995 ** 90);
    expect(quasiBinomialUpperTail(30, 1000, 0.005, phi)).toBeCloseTo(0.0765, 4);
    expect(quasiBinomialUpperTail(30, 1000, 0.005, 1)).toBeLessThan(1e-10);
  });
});

describe('Poisson tails', () => {
  it('P(X ≥ 1 | μ) = 1 − e^−μ', () => {
    for (const mu of [0.1, 1, 2.5, 10]) near(poissonUpperTail(1, mu), 1 - Math.exp(-mu));
  });

  it('P(X ≥ 3 | 2) = 1 − e^−2(1 + 2 + 2)', () => {
    near(poissonUpperTail(3, 2), 1 - 5 * Math.exp(-2)); // 0.3233
  });

  it('far tails match the term-by-term sum: P(X ≥ 25 | 10) ≈ 4.7e-5, P(X ≥ 100 | 50) ≈ 3.2e-10', () => {
    near(poissonUpperTail(25, 10), naivePoissonUpper(25, 10), 1e-9);
    near(poissonUpperTail(100, 50), naivePoissonUpper(100, 50), 1e-9);
    expect(poissonUpperTail(25, 10)).toBeCloseTo(4.6949e-5, 8);
  });

  it('P(X ≥ k) for k ≤ 0 is 1; with μ = 0 any k ≥ 1 is impossible', () => {
    expect(poissonUpperTail(0, 3)).toBe(1);
    expect(poissonUpperTail(-2, 3)).toBe(1);
    expect(poissonUpperTail(2, 0)).toBe(0);
  });

  it('P(X ≤ 0 | μ) = e^−μ, P(X ≤ 1 | μ) = e^−μ(1 + μ), P(X ≤ 2 | 20) = e^−20(1 + 20 + 200)', () => {
    near(poissonLowerTail(0, 4.8), Math.exp(-4.8));
    for (const mu of [0.5, 3, 12]) near(poissonLowerTail(1, mu), Math.exp(-mu) * (1 + mu));
    near(poissonLowerTail(2, 20), 221 * Math.exp(-20)); // 4.56e-7
  });

  it('a far lower tail matches the term-by-term sum: P(X ≤ 240 | 400)', () => {
    near(poissonLowerTail(240, 400), naivePoissonLower(240, 400), 1e-8);
  });

  it('P(X ≤ k) for k < 0 is 0; with μ = 0 it is 1', () => {
    expect(poissonLowerTail(-1, 3)).toBe(0);
    expect(poissonLowerTail(2, 0)).toBe(1);
  });

  it('the two tails split the distribution: P(X ≤ k − 1) + P(X ≥ k) = 1', () => {
    for (const [k, mu] of [[3, 2], [10, 10], [7, 30]] as const) near(poissonLowerTail(k - 1, mu) + poissonUpperTail(k, mu), 1, 1e-12);
  });
});

describe('quasiPoissonTail: the Poisson tail at k/φ and μ/φ', () => {
  it('up: k = 12, μ = 8, φ = 4 → P(X ≥ 3 | 2) = 1 − 5e^−2', () => {
    near(quasiPoissonTail(12, 8, 4, 'up'), 1 - 5 * Math.exp(-2));
    // 13/4 = 3.25 is still 3 (rounded down, against the anomaly)
    near(quasiPoissonTail(13, 8, 4, 'up'), 1 - 5 * Math.exp(-2));
  });

  it('down: k = 2, μ = 12, φ = 4 → P(X ≤ 1 | 3) = 4e^−3; rounded up, against the anomaly', () => {
    near(quasiPoissonTail(2, 12, 4, 'down'), 4 * Math.exp(-3)); // 2/4 = 0.5 → 1
    near(quasiPoissonTail(4, 12, 4, 'down'), 4 * Math.exp(-3)); // 4/4 = 1
    near(quasiPoissonTail(0, 12, 4, 'down'), Math.exp(-3));
  });

  it('φ = 1 (or less) is the plain Poisson tail', () => {
    near(quasiPoissonTail(1, 2, 1, 'up'), 1 - Math.exp(-2));
    near(quasiPoissonTail(1, 2, 0.5, 'up'), 1 - Math.exp(-2));
    near(quasiPoissonTail(1, 3, 1, 'down'), 4 * Math.exp(-3));
  });
});

describe('medianOf', () => {
  it('the median of the finite values; NaN for none', () => {
    expect(medianOf([3, NaN, 1, 2])).toBe(2);
    expect(medianOf([4, 1, 3, 2])).toBe(2.5);
    expect(medianOf([NaN, Infinity])).toBeNaN();
    expect(medianOf([])).toBeNaN();
  });
});
