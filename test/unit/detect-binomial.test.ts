import { describe, expect, it } from 'vitest';
import { binomialUpperBound, binomialUpperTail, scoreOf } from '../../src/detect/binomial.js';
import { naiveUpperTail } from '../helpers/window-stats.js';

/** Relative closeness: |a - b| ≤ rel·|b|. */
const near = (a: number, b: number, rel: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b));

describe('binomialUpperTail: P(X ≥ k), X ~ Binomial(n, p)', () => {
  it('k = 1 is one minus the chance of no success: 1 - (1 - p)^n', () => {
    near(binomialUpperTail(1, 10, 0.1), 1 - 0.9 ** 10, 1e-12); // 0.6513215599
    near(binomialUpperTail(1, 30, 0.005), 1 - 0.995 ** 30, 1e-12); // 0.1395…
    near(binomialUpperTail(1, 1000, 0.001), 1 - 0.999 ** 1000, 1e-12); // 0.6323…
  });

  it('k = n is p^n', () => {
    expect(binomialUpperTail(5, 5, 0.5)).toBeCloseTo(1 / 32, 14);
    near(binomialUpperTail(4, 4, 0.1), 1e-4, 1e-10);
    near(binomialUpperTail(10, 10, 0.01), 1e-20, 1e-9);
  });

  it('small n, written out term by term', () => {
    // n = 4, p = ½: P(X ≥ 3) = (C(4,3) + C(4,4)) / 2^4 = 5/16
    expect(binomialUpperTail(3, 4, 0.5)).toBeCloseTo(5 / 16, 14);
    // n = 3, p = 0.2: P(X ≥ 2) = 3·0.2²·0.8 + 0.2³ = 0.096 + 0.008
    expect(binomialUpperTail(2, 3, 0.2)).toBeCloseTo(0.104, 14);
    // n = 30, p = 0.005: P(X ≥ 2) = 1 - q^30 - 30·p·q^29  (two faults out of 30 at a 0.5 % baseline)
    const q = 0.995;
    near(binomialUpperTail(2, 30, 0.005), 1 - q ** 30 - 30 * 0.005 * q ** 29, 1e-9); // ≈ 0.00991
    // n = 10, p = 0.001: P(X ≥ 2) = 1 - 0.999^10 - 10·0.001·0.999^9 ≈ 4.48e-5
    near(binomialUpperTail(2, 10, 0.001), 1 - 0.999 ** 10 - 10 * 0.001 * 0.999 ** 9, 1e-6);
  });

  it('agrees with a plain term-by-term sum for moderate n', () => {
    for (const [k, n, p] of [
      [5, 100, 0.005],
      [6, 100, 0.005],
      [40, 100, 0.1],
      [15, 100, 0.1],
      [50, 200, 0.3],
      [1, 1, 0.5],
    ] as const) {
      near(binomialUpperTail(k, n, p), naiveUpperTail(k, n, p), 1e-9);
    }
  });

  it('complement symmetry: P(X ≥ k | n, p) + P(X ≥ n - k + 1 | n, 1 - p) = 1', () => {
    for (const [k, n, p] of [
      [3, 10, 0.2],
      [12, 40, 0.35],
      [60, 100, 0.55],
    ] as const) {
      expect(binomialUpperTail(k, n, p) + binomialUpperTail(n - k + 1, n, 1 - p)).toBeCloseTo(1, 10);
    }
  });

  it('edge cases: k ≤ 0 is certain, k > n impossible, p = 0 never succeeds, p = 1 always does', () => {
    expect(binomialUpperTail(0, 10, 0.3)).toBe(1);
    expect(binomialUpperTail(-2, 10, 0.3)).toBe(1);
    expect(binomialUpperTail(0, 0, 0.3)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.3)).toBe(0);
    expect(binomialUpperTail(1, 0, 0.3)).toBe(0);
    expect(binomialUpperTail(1, 10, 0)).toBe(0);
    expect(binomialUpperTail(0, 10, 0)).toBe(1);
    expect(binomialUpperTail(10, 10, 1)).toBe(1);
    expect(binomialUpperTail(1, 10, 1)).toBe(1);
  });

  it('large n: far above the mean the tail underflows to (about) zero, and stays a number', () => {
    // 2,000 faults out of 30,000 at a 0.5 % baseline (mean 150): the true value is below 1e-1000
    const t = binomialUpperTail(2000, 30_000, 0.005);
    expect(Number.isFinite(t)).toBe(true);
    expect(t).toBeGreaterThanOrEqual(0);
    expect(t).toBeLessThan(1e-300);
    // at the mean the tail is about one half, and below it about one
    expect(binomialUpperTail(150, 30_000, 0.005)).toBeGreaterThan(0.45);
    expect(binomialUpperTail(150, 30_000, 0.005)).toBeLessThan(0.56);
    expect(binomialUpperTail(100, 30_000, 0.005)).toBeGreaterThan(0.9999);
  });

  it('mid case: matches the normal approximation with continuity correction', () => {
    // n = 10,000, p = ½: mean 5,000, sd 50; z = (5100 - 0.5 - 5000) / 50 = 1.99; 1 - Φ(1.99) = 0.023295
    near(binomialUpperTail(5100, 10_000, 0.5), 0.023295, 0.005);
    // n = 15,000, p = 0.1: mean 1,500, sd √1350 = 36.742; z = 49.5 / 36.742 = 1.3472; 1 - Φ(z) = 0.08896
    near(binomialUpperTail(1550, 15_000, 0.1), 0.08896, 0.02);
  });
});

describe('binomialUpperBound: the largest count still within the expected range', () => {
  it('n = 10, p = ½, α = 0.05: P(X ≥ 9) = 11/1024 ≤ α < P(X ≥ 8) = 56/1024, so 8', () => {
    expect(binomialUpperTail(9, 10, 0.5)).toBeCloseTo(11 / 1024, 14);
    expect(binomialUpperTail(8, 10, 0.5)).toBeCloseTo(56 / 1024, 14);
    expect(binomialUpperBound(10, 0.5, 0.05)).toBe(8);
    // α = 0.01 lies between P(X ≥ 10) = 1/1024 and P(X ≥ 9): the bound moves up to 9
    expect(binomialUpperBound(10, 0.5, 0.01)).toBe(9);
  });

  it('n = 4, p = 0.1: P(X ≥ 4) = 1e-4, P(X ≥ 3) = 0.0037, P(X ≥ 2) = 0.0523', () => {
    // P(X ≥ 3) = 4·0.1³·0.9 + 0.1⁴ = 0.0036 + 0.0001; P(X ≥ 2) adds 6·0.1²·0.9² = 0.0486
    expect(binomialUpperTail(3, 4, 0.1)).toBeCloseTo(0.0037, 12);
    expect(binomialUpperTail(2, 4, 0.1)).toBeCloseTo(0.0523, 12);
    expect(binomialUpperBound(4, 0.1, 1e-3)).toBe(3); // P(X > 3) = 1e-4 ≤ α < P(X > 2)
    expect(binomialUpperBound(4, 0.1, 0.01)).toBe(2); // P(X > 2) = 0.0037 ≤ α < P(X > 1)
    expect(binomialUpperBound(4, 0.1, 0.1)).toBe(1); // P(X > 1) = 0.0523 ≤ α < P(X > 0) = 0.3439
  });

  it('is the smallest c with P(X > c) ≤ α for a busy window', () => {
    const n = 30_000;
    const p = 0.005;
    const c = binomialUpperBound(n, p, 1e-4);
    expect(binomialUpperTail(c + 1, n, p)).toBeLessThanOrEqual(1e-4);
    expect(binomialUpperTail(c, n, p)).toBeGreaterThan(1e-4);
    // mean 150, sd ≈ 12.2, z(1e-4) ≈ 3.72: about 150 + 45
    expect(c).toBeGreaterThan(185);
    expect(c).toBeLessThan(205);
  });

  it('edge cases: no requests, p = 0, p = 1', () => {
    expect(binomialUpperBound(0, 0.3, 0.05)).toBe(0);
    expect(binomialUpperBound(-1, 0.3, 0.05)).toBe(0);
    expect(binomialUpperBound(50, 0, 1e-4)).toBe(0);
    expect(binomialUpperBound(3, 1, 1e-4)).toBe(3);
  });
});

describe('scoreOf: −log10(p-value), capped', () => {
  it('is −log10 of the p-value', () => {
    expect(scoreOf(1)).toBeCloseTo(0, 12);
    expect(scoreOf(0.01)).toBeCloseTo(2, 12);
    expect(scoreOf(1e-5)).toBeCloseTo(5, 12);
    expect(scoreOf(0.5)).toBeCloseTo(Math.log10(2), 12);
  });

  it('stays finite at 300 for p-values that underflowed', () => {
    expect(scoreOf(0)).toBe(300);
    expect(scoreOf(1e-320)).toBe(300);
    expect(scoreOf(binomialUpperTail(2000, 30_000, 0.005))).toBe(300);
  });
});
