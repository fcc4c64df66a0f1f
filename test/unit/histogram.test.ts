import { describe, expect, it } from 'vitest';
import {
  HISTOGRAM_SCALE,
  MAX_RELATIVE_ERROR,
  ZERO_BUCKET,
  ZERO_THRESHOLD_MS,
  addTo,
  bucketOf,
  bucketValue,
  mergeInto,
  quantiles,
  toXrayHistogram,
  type Histogram,
} from '../../src/aggregate/histogram.js';

/** A small deterministic PRNG (mulberry32), so the "many values" tests see the same values every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function histogramOf(values: readonly number[]): Histogram {
  const h: Histogram = new Map();
  for (const v of values) addTo(h, bucketOf(v));
  return h;
}

/** Nearest-rank quantile of the raw values, the definition quantiles() approximates. */
function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

const relErr = (approx: number, exact: number) => Math.abs(approx - exact) / exact;
// the bound is exact in real numbers; allow for float rounding in log2/pow
const BOUND = MAX_RELATIVE_ERROR * (1 + 1e-9);
const S = 2 ** HISTOGRAM_SCALE;

describe('buckets', () => {
  it('use scale 5: 32 buckets per power of two, about 1.09 % error', () => {
    expect(HISTOGRAM_SCALE).toBe(5);
    expect(MAX_RELATIVE_ERROR).toBeCloseTo(2 ** (1 / 64) - 1, 15);
    expect(MAX_RELATIVE_ERROR).toBeGreaterThan(0.0108);
    expect(MAX_RELATIVE_ERROR).toBeLessThan(0.011);
  });

  it('hold (2^(i/32), 2^((i+1)/32)]: powers of two close their bucket', () => {
    // exact powers of two are where log2 is exact, so the boundaries can be checked exactly
    expect(bucketOf(1)).toBe('-1');
    expect(bucketOf(1 * (1 + 1e-12))).toBe('0');
    expect(bucketOf(2)).toBe(String(S - 1));
    expect(bucketOf(2 * (1 + 1e-12))).toBe(String(S));
    expect(bucketOf(1024)).toBe(String(10 * S - 1));
    expect(bucketOf(0.5)).toBe(String(-S - 1));
    expect(bucketOf(0.5 * (1 - 1e-12))).toBe(String(-S - 1));
  });

  it('are consecutive: 32 distinct buckets between 1 and 2 ms', () => {
    const seen = new Set<string>();
    for (let v = 1.000001; v <= 2; v += 0.0001) seen.add(bucketOf(v));
    expect([...seen].map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: S }, (_, i) => i));
  });

  it('are monotonic in the value', () => {
    const next = rng(1);
    const values = Array.from({ length: 5000 }, () => 10 ** (next() * 9 - 2)).sort((a, b) => a - b);
    const idx = values.map((v) => Number(bucketOf(v)));
    for (let i = 1; i < idx.length; i++) expect(idx[i]!).toBeGreaterThanOrEqual(idx[i - 1]!);
  });

  it('have a representative value inside the bucket, within MAX_RELATIVE_ERROR of every value in it', () => {
    const next = rng(42);
    let worst = 0;
    const outside: number[] = [];
    // 0.01 ms to 10^7 ms (almost 3 hours), log-uniform
    for (let n = 0; n < 100_000; n++) {
      const v = 10 ** (next() * 9 - 2);
      const b = bucketOf(v);
      const rep = bucketValue(b);
      worst = Math.max(worst, relErr(rep, v));
      if (bucketOf(rep) !== b) outside.push(v);
    }
    expect(outside).toEqual([]);
    expect(worst).toBeLessThanOrEqual(BOUND);
    // and the bound is tight: some value gets close to it
    expect(worst).toBeGreaterThan(MAX_RELATIVE_ERROR * 0.99);
  });

  it('send zero, tiny, negative and NaN durations to the zero bucket', () => {
    for (const v of [0, ZERO_THRESHOLD_MS, ZERO_THRESHOLD_MS / 2, -5, NaN]) expect(bucketOf(v), String(v)).toBe(ZERO_BUCKET);
    expect(bucketOf(ZERO_THRESHOLD_MS * 1.01)).not.toBe(ZERO_BUCKET);
    expect(bucketValue(ZERO_BUCKET)).toBe(0);
  });
});

describe('quantiles', () => {
  it('return NaN for an empty histogram', () => {
    expect(quantiles(new Map(), [0.5, 0.99])).toEqual([NaN, NaN]);
    expect(quantiles(new Map([['3', 0]]), [0.5])).toEqual([NaN]);
  });

  it('use nearest rank on a hand-built histogram', () => {
    // bucket 0 holds 1 value, bucket 32 holds 3: ranks 1 | 2 3 4
    const h: Histogram = new Map([
      ['32', 3],
      ['0', 1],
    ]);
    const b0 = 2 ** (0.5 / 32);
    const b32 = 2 ** (32.5 / 32);
    expect(quantiles(h, [0.01, 0.25, 0.26, 0.5, 1])).toEqual([b0, b0, b32, b32, b32]);
  });

  it('match hand-computed small cases within the error bound', () => {
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const h = histogramOf(values);
    // nearest rank: p50 = 5th value, p90 = 9th, p99 and p100 = 10th, p10 = 1st
    const [p10, p50, p90, p99, p100] = quantiles(h, [0.1, 0.5, 0.9, 0.99, 1]);
    expect(relErr(p10!, 1)).toBeLessThanOrEqual(BOUND);
    expect(relErr(p50!, 5)).toBeLessThanOrEqual(BOUND);
    expect(relErr(p90!, 9)).toBeLessThanOrEqual(BOUND);
    expect(relErr(p99!, 10)).toBeLessThanOrEqual(BOUND);
    expect(p100).toBe(p99);
  });

  it('report 0 when the rank falls in the zero bucket', () => {
    const h = histogramOf([0, 0, 0, 100]);
    const [p50, p75, p100] = quantiles(h, [0.5, 0.75, 1]);
    expect(p50).toBe(0);
    expect(p75).toBe(0);
    expect(relErr(p100!, 100)).toBeLessThanOrEqual(BOUND);
  });

  it('stay within MAX_RELATIVE_ERROR of the exact nearest-rank quantile on skewed data', () => {
    const next = rng(7);
    // a long-tailed latency distribution: mostly ~20 ms, a few multi-second outliers
    const values = Array.from({ length: 20_000 }, () => (next() < 0.98 ? 5 + 30 * next() : 1000 + 9000 * next()));
    const h = histogramOf(values);
    const qs = [0.001, 0.1, 0.5, 0.9, 0.95, 0.98, 0.985, 0.99, 0.999, 1];
    const got = quantiles(h, qs);
    qs.forEach((q, i) => expect(relErr(got[i]!, exactQuantile(values, q)), `q=${q}`).toBeLessThanOrEqual(BOUND));
  });
});

describe('merging', () => {
  it('is the histogram of the union of the values', () => {
    const next = rng(3);
    const a = Array.from({ length: 3000 }, () => 100 * next());
    const b = Array.from({ length: 1000 }, () => 5000 * next());
    const merged = histogramOf(a);
    mergeInto(merged, histogramOf(b));
    expect(merged).toEqual(histogramOf([...a, ...b]));
    expect(quantiles(merged, [0.5, 0.99])).toEqual(quantiles(histogramOf([...b, ...a]), [0.5, 0.99]));
  });

  it('is order independent and merges zero buckets too', () => {
    const x = histogramOf([0, 1, 2, 3]);
    const y = histogramOf([0, 3, 30]);
    const xy: Histogram = new Map(x);
    mergeInto(xy, y);
    const yx: Histogram = new Map(y);
    mergeInto(yx, x);
    expect(xy).toEqual(yx);
    expect(xy.get(ZERO_BUCKET)).toBe(2);
    expect([...xy.values()].reduce((s, n) => s + n, 0)).toBe(7);
  });

  it('accepts entries straight from a Redis hash (HGETALL as string counts parsed to numbers)', () => {
    const h: Histogram = new Map();
    mergeInto(h, Object.entries({ '10': 2, z: 1 }));
    mergeInto(h, [['10', 3]]);
    expect(h).toEqual(
      new Map([
        ['10', 5],
        ['z', 1],
      ]),
    );
  });
});

describe('toXrayHistogram', () => {
  it('lists non-empty buckets ascending, in seconds, zero first', () => {
    const h = histogramOf([0, 2000, 2000, 1, 1]);
    h.set('99', 0);
    const out = toXrayHistogram(h);
    expect(out.map((x) => x.Count)).toEqual([1, 2, 2]);
    expect(out[0]!.Value).toBe(0);
    expect(relErr(out[1]!.Value, 0.001)).toBeLessThanOrEqual(BOUND + 1e-5);
    expect(relErr(out[2]!.Value, 2)).toBeLessThanOrEqual(BOUND + 1e-5);
  });
});
