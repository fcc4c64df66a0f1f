import { describe, expect, it } from 'vitest';
import { bucketOf, bucketValue, type Histogram } from '../../src/aggregate/histogram.js';
import { judgeCalls, judgeRate, judgeShift, type Count } from '../../src/detect/detect.js';
import { defaultDetectOptions, withDefaults } from '../../src/detect/options.js';
import { hist, naivePoissonLower, naivePoissonUpper, naiveUpperTail } from '../helpers/window-stats.js';

/**
 * judgeRate, judgeShift and judgeCalls, decision by decision, with every p-value worked out by hand
 * (binomial and Poisson sums written out). Defaults: α = 1e-4, alphaStrong = 1e-9, strongShare 0.5,
 * minCount 3, minRateIncrease 0.01 (absolute), minLatencyRatio 1.5, minLatencyDeltaMs 1,
 * minLatencySamples 5, minCallsRatio 1.5.
 */

const D = defaultDetectOptions;
const near = (a: number, b: number, rel = 1e-9) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b));
const windows = (n: number, c: Count): Count[] => Array.from({ length: n }, () => ({ ...c }));
const ms = (x: number) => bucketValue(bucketOf(x));
const r3 = (x: number) => Math.round(x * 1000) / 1000;

describe('judgeRate: fault and throttle rates, quasi-binomial', () => {
  /** 10 windows of 1,000 requests with 5 faults each: p0 = 50/10,000 = 0.5 %, counts that vary as sampling predicts (φ = 1) */
  const halfPercent = windows(10, { k: 5, n: 1000 });

  it('100 requests: 6 faults are flagged, P(X ≥ 6 | 100, 0.005) = 1.25e-5; every field checkable', () => {
    const e = judgeRate('FAULT', { k: 6, n: 100 }, halfPercent, 'recent', D)!;
    expect(naiveUpperTail(6, 100, 0.005)).toBeCloseTo(1.246e-5, 8);
    near(e.pValue, naiveUpperTail(6, 100, 0.005), 1e-8);
    expect(e).toMatchObject({
      category: 'FAULT',
      metric: 'faultRate',
      direction: 'up',
      observed: 0.06,
      expected: { low: 0, high: 0.015 }, // p0 + minRateIncrease
      baseline: 0.005,
      test: 'quasi-binomial one-sided: P(X ≥ 6 | n = 100, p = 0.005, φ = 1)',
      sampleSize: 100,
      count: 6,
      phi: 1,
      share: 0.055, // (0.06 − 0.005) / 0.995
      baselineWindows: 10,
      baselineSource: 'recent',
      impact: true,
      strong: false, // 1.2e-5 is far from alphaStrong
    });
    expect(e.score).toBeCloseTo(-Math.log10(e.pValue), 3); // 4.904
  });

  it('100 requests: 5 faults are not, P(X ≥ 5 | 100, 0.005) = 1.59e-4 > α', () => {
    expect(naiveUpperTail(5, 100, 0.005)).toBeCloseTo(1.586e-4, 7);
    expect(judgeRate('FAULT', { k: 5, n: 100 }, halfPercent, 'recent', D)).toBeUndefined();
  });

  it('a small sample: 2 faults out of 30 is no evidence, P = 1 − q^30 − 30·p·q^29 ≈ 0.0099', () => {
    const q = 0.995;
    expect(1 - q ** 30 - 30 * 0.005 * q ** 29).toBeGreaterThan(D.alpha * 50);
    expect(judgeRate('FAULT', { k: 2, n: 30 }, halfPercent, 'recent', withDefaults({ minCount: 1 }))).toBeUndefined();
  });

  it('minCount: 2 faults in 10 requests over a clean history are never an anomaly at minCount 3, though the test flags them', () => {
    const clean = windows(10, { k: 0, n: 1000 });
    // a history without faults is floored at 0.1 %: P(X ≥ 2 | 10, 0.001) = 1 − 0.999^10 − 10·0.001·0.999^9 ≈ 4.48e-5 < α
    const p = 1 - 0.999 ** 10 - 10 * 0.001 * 0.999 ** 9;
    expect(p).toBeLessThan(D.alpha);
    expect(judgeRate('FAULT', { k: 2, n: 10 }, clean, 'recent', D)).toBeUndefined();
    const e = judgeRate('FAULT', { k: 2, n: 10 }, clean, 'recent', withDefaults({ minCount: 2 }))!;
    expect(e).toMatchObject({ baseline: 0.001, count: 2, sampleSize: 10, test: 'quasi-binomial one-sided: P(X ≥ 2 | n = 10, p = 0.001, φ = 1)' });
    near(e.pValue, p, 1e-6);
    // a single fault is no miracle at the floor: P(X ≥ 1 | 10, 0.001) = 1 − 0.999^10 ≈ 0.01
    expect(judgeRate('FAULT', { k: 1, n: 10 }, clean, 'recent', withDefaults({ minCount: 1 }))).toBeUndefined();
  });

  it('minRateIncrease: a significant but small rise (1 % → 1.5 % of 100,000) is not an anomaly', () => {
    const onePercent = windows(10, { k: 10, n: 1000 });
    // mean 1,000, sd √990 ≈ 31.5: 500 above is ~16 sd, but only 0.5 points above the baseline
    expect(judgeRate('FAULT', { k: 1500, n: 100_000 }, onePercent, 'recent', D)).toBeUndefined();
    const e = judgeRate('FAULT', { k: 1500, n: 100_000 }, onePercent, 'recent', withDefaults({ minRateIncrease: 0.004 }))!;
    expect(e).toMatchObject({ observed: 0.015, baseline: 0.01, expected: { low: 0, high: 0.014 } });
    expect(e.pValue).toBeLessThan(1e-40);
  });

  it('throttles: the same test on the throttle count', () => {
    const e = judgeRate('THROTTLE', { k: 100, n: 1000 }, windows(10, { k: 2, n: 1000 }), 'daily', D)!;
    expect(e).toMatchObject({ category: 'THROTTLE', metric: 'throttleRate', observed: 0.1, baseline: 0.002, count: 100, baselineSource: 'daily' });
  });

  it('no requests in the window: nothing to judge', () => {
    expect(judgeRate('FAULT', { k: 0, n: 0 }, halfPercent, 'recent', D)).toBeUndefined();
  });
});

describe('judgeRate: φ from the history', () => {
  // 8 windows of 1,000 requests with 0 or 10 faults: the same 0.5 % pooled, but sampling predicts 5 ± 2.2.
  // Residuals ±5/√4.975, four of each: MAD 5/√4.975 → φ = (1.4826·5)² / 4.975 = 11.046
  const wild = [0, 10, 0, 10, 0, 10, 0, 10].map((k) => ({ k, n: 1000 }));
  const calm = windows(8, { k: 5, n: 1000 });
  const phi = (1.4826 * 5) ** 2 / (1000 * 0.005 * 0.995);

  it('30 faults of 1,000 (6× the baseline) is an anomaly after a calm history, not after a wild one', () => {
    expect(phi).toBeCloseTo(11.046, 3);
    const vsCalm = judgeRate('FAULT', { k: 30, n: 1000 }, calm, 'recent', D)!;
    expect(vsCalm.phi).toBe(1);
    near(vsCalm.pValue, naiveUpperTail(30, 1000, 0.005), 1e-7);
    // after the wild one: 30/φ → 2 faults of 1,000/φ → 91 requests: P(X ≥ 2 | 91, 0.005) = 1 − q^91 − 91·p·q^90 ≈ 0.076
    expect([Math.floor(30 / phi), Math.round(1000 / phi)]).toEqual([2, 91]);
    expect(judgeRate('FAULT', { k: 30, n: 1000 }, wild, 'recent', D)).toBeUndefined();
  });

  it('100 faults of 1,000 after the wild history: 9 of 91 effective requests, and the evidence says φ', () => {
    expect([Math.floor(100 / phi), Math.round(1000 / phi)]).toEqual([9, 91]);
    const e = judgeRate('FAULT', { k: 100, n: 1000 }, wild, 'recent', D)!;
    expect(e).toMatchObject({ phi: 11.046, baseline: 0.005, baselineWindows: 8, test: 'quasi-binomial one-sided: P(X ≥ 100 | n = 1000, p = 0.005, φ = 11.05)' });
    near(e.pValue, naiveUpperTail(9, 91, 0.005), 1e-7); // ≈ 1.06e-9
  });
});

describe('judgeRate: strong only when both halves of the window have an excess of their own', () => {
  const halfPercent = windows(10, { k: 5, n: 1000 });

  it('100 faults of 1,000, 50 in each half: strong', () => {
    // P(X ≥ 100 | 1000, 0.005) ≈ 5.8e-93 < alphaStrong; each half P(X ≥ 50 | 500, 0.005) ≈ 2.3e-47 < α
    expect(naiveUpperTail(100, 1000, 0.005)).toBeLessThan(D.alphaStrong);
    expect(naiveUpperTail(50, 500, 0.005)).toBeLessThan(D.alpha);
    const e = judgeRate('FAULT', { k: 100, n: 1000, late: { k: 50, n: 500 } }, halfPercent, 'recent', D)!;
    expect(e.strong).toBe(true);
  });

  it('the same 100 faults in one half (a burst shorter than half the window): flagged, not strong', () => {
    for (const late of [{ k: 0, n: 500 }, { k: 100, n: 500 }]) {
      const e = judgeRate('FAULT', { k: 100, n: 1000, late }, halfPercent, 'recent', D)!;
      expect(e.pValue).toBeLessThan(D.alphaStrong);
      expect(e.strong).toBe(false);
    }
  });

  it('a half whose count is above its expected 2.5 but not significant on its own: not strong', () => {
    // second half 8 of 500: P(X ≥ 8 | 500, 0.005) ≈ 0.0041 > α
    expect(naiveUpperTail(8, 500, 0.005)).toBeGreaterThan(D.alpha);
    expect(judgeRate('FAULT', { k: 100, n: 1000, late: { k: 8, n: 500 } }, halfPercent, 'recent', D)!.strong).toBe(false);
    // 2 of 500 is not even above the 2.5 expected
    expect(judgeRate('FAULT', { k: 100, n: 1000, late: { k: 2, n: 500 } }, halfPercent, 'recent', D)!.strong).toBe(false);
  });

  it('without the second-half counts it cannot tell: not strong', () => {
    expect(judgeRate('FAULT', { k: 100, n: 1000 }, halfPercent, 'recent', D)!.strong).toBe(false);
  });

  it('both halves significant but the whole not below alphaStrong: not strong', () => {
    const e = judgeRate('FAULT', { k: 100, n: 1000, late: { k: 50, n: 500 } }, halfPercent, 'recent', withDefaults({ alphaStrong: 1e-100 }))!;
    expect(e.pValue).toBeGreaterThan(1e-100); // 5.8e-93
    expect(e.strong).toBe(false);
  });
});

describe('judgeShift: latency, own time and gaps against the history', () => {
  // 9 history windows of 111 requests: 100 at 10 ms, 11 at 20 ms → pooled 900 at 10 ms, 99 at 20 ms.
  // p50 (rank 500) and p90 (rank 900) are both the 10 ms bucket; 99 of the 999 beyond it: p0 = 99/999 = 11/111 ≈ 0.0991; φ = 1
  const history = Array.from({ length: 9 }, () => hist([10, 100], [20, 11]));
  const p0 = 99 / 999;
  const judge = (metric: 'latencyMs' | 'ownTimeMs' | 'gapMs', now: Histogram, o = D) => judgeShift(metric, 'up', now, history, 'recent', o);

  it('40 of 100 requests at 30 ms: the p90 test (3× the history p90) is reported, p doubled for the two looks', () => {
    const e = judge('latencyMs', hist([10, 60], [30, 40]))!;
    // the p50 test has the same count and p-value but the window median is still 10 ms: the p90 one matters
    near(e.pValue, 2 * naiveUpperTail(40, 100, p0), 1e-8); // 2 × 2.2e-15
    expect(e).toMatchObject({
      category: 'LATENCY',
      metric: 'latencyMs',
      direction: 'up',
      observed: r3(ms(30)),
      baseline: r3(ms(10)),
      expected: { low: 0, high: r3(ms(10) * 1.5) },
      test: `quasi-binomial sign test on requests above the history p90 (${r3(ms(10))} ms): P(X ≥ 40 | n = 100, p = 0.0991, φ = 1) × 2`,
      sampleSize: 100,
      count: 40,
      phi: 1,
      share: 0.334, // (0.4 − 11/111) / (100/111) = (44.4 − 11)/100
      baselineWindows: 9,
      impact: true,
      strong: false, // p < alphaStrong but only a third of the window changed
    });
  });

  it('every request at 30 ms: strong (share 1), on the p50 test', () => {
    const e = judge('latencyMs', hist([30, 100]))!;
    near(e.pValue, 2 * p0 ** 100, 1e-8); // P(X ≥ 100 | 100, p0) = p0^100
    expect(e).toMatchObject({ count: 100, share: 1, impact: true, strong: true });
    expect(e.test).toContain('history p50');
  });

  it('a grown gap is impact like a response time; own time never is, however large', () => {
    expect(judge('gapMs', hist([30, 100]))).toMatchObject({ metric: 'gapMs', category: 'LATENCY', impact: true, strong: true });
    const own = judge('ownTimeMs', hist([30, 100]))!;
    expect(own).toMatchObject({ metric: 'ownTimeMs', category: 'LATENCY', count: 100, impact: false, strong: false });
    near(own.pValue, 2 * p0 ** 100, 1e-8);
  });

  it('a significant but small shift (10 → 12 ms, under 1.5×) is returned, with impact = false', () => {
    const e = judge('latencyMs', hist([12, 100]))!;
    expect(e.pValue).toBeLessThan(D.alpha);
    expect(e).toMatchObject({ impact: false, strong: false, observed: r3(ms(12)) });
    expect(e.observed).toBeLessThan(e.expected.high);
  });

  it('minLatencyDeltaMs: 0.1 → 0.5 ms is 5× but 0.4 ms; not impact at 1 ms, impact at 0.1 ms', () => {
    const fast = Array.from({ length: 9 }, () => hist([0.1, 100], [0.2, 11]));
    expect(judgeShift('latencyMs', 'up', hist([0.5, 100]), fast, 'recent', D)).toMatchObject({ impact: false });
    expect(judgeShift('latencyMs', 'up', hist([0.5, 100]), fast, 'recent', withDefaults({ minLatencyDeltaMs: 0.1 }))).toMatchObject({ impact: true });
  });

  it('the two looks cost a factor 2: 23 of 100 beyond is 9.96e-5 alone, 2.0e-4 doubled: not flagged; 24 is', () => {
    expect(naiveUpperTail(23, 100, p0)).toBeLessThan(D.alpha);
    expect(2 * naiveUpperTail(23, 100, p0)).toBeGreaterThan(D.alpha);
    expect(judge('latencyMs', hist([10, 77], [30, 23]))).toBeUndefined();
    const e = judge('latencyMs', hist([10, 76], [30, 24]))!;
    near(e.pValue, 2 * naiveUpperTail(24, 100, p0), 1e-8); // 6.9e-5
  });

  it('fewer requests than minLatencySamples: undefined, however slow', () => {
    expect(judge('latencyMs', hist([30, 4]))).toBeUndefined();
    // 5 at 30 ms: 2·p0^5 = 1.9e-5
    near(judge('latencyMs', hist([30, 5]))!.pValue, 2 * p0 ** 5, 1e-8);
    expect(judge('latencyMs', hist([30, 5]), withDefaults({ minLatencySamples: 6 }))).toBeUndefined();
  });

  it('no history: undefined', () => {
    expect(judgeShift('latencyMs', 'up', hist([30, 100]), [], 'recent', D)).toBeUndefined();
  });
});

describe('judgeShift: which of the two looks is reported', () => {
  // 9 windows of 111: 60 at 10 ms, 40 at 20 ms, 11 at 40 ms → pooled 540 / 360 / 99.
  // p50 (rank 500) is the 10 ms bucket, 459 of 999 beyond it: p0 = 459/999 = 17/37; p90 (rank 900) the 20 ms
  // bucket, 99 of 999 beyond it: p0 = 11/111
  const history = Array.from({ length: 9 }, () => hist([10, 60], [20, 40], [40, 11]));

  it('a shift large enough to matter wins over a more significant one that is not', () => {
    // 70 at 14 ms, 30 at 40 ms: the p50 look sees all 100 beyond 10 ms (p = 2·(17/37)^100), but the median
    // is 14 ms (< 1.5×); the p90 look sees 30 beyond 20 ms and a p90 of 40 ms (2×): it is reported
    const e = judgeShift('latencyMs', 'up', hist([14, 70], [40, 30]), history, 'recent', D)!;
    expect(e).toMatchObject({ count: 30, baseline: r3(ms(20)), observed: r3(ms(40)), impact: true });
    near(e.pValue, 2 * naiveUpperTail(30, 100, 99 / 999), 1e-8);
  });

  it('when neither matters, the more significant one is reported (without impact)', () => {
    const e = judgeShift('latencyMs', 'up', hist([14, 100]), history, 'recent', D)!;
    expect(e).toMatchObject({ count: 100, baseline: r3(ms(10)), observed: r3(ms(14)), impact: false });
    near(e.pValue, 2 * (459 / 999) ** 100, 1e-8);
  });
});

describe('judgeShift: down (requests that end early)', () => {
  // 9 windows of 111: 11 at 5 ms, 100 at 10 ms → pooled 99 at 5 ms, 900 at 10 ms; p50 and p10 (rank 100)
  // are both the 10 ms bucket; 99 of the 999 below it: p0 = 99/999 = 11/111
  const history = Array.from({ length: 9 }, () => hist([5, 11], [10, 100]));

  it('60 of 100 requests at 2 ms: a FAULT-category latency drop, below the history p50', () => {
    const e = judgeShift('latencyMs', 'down', hist([2, 60], [10, 40]), history, 'recent', D)!;
    near(e.pValue, 2 * naiveUpperTail(60, 100, 99 / 999), 1e-8);
    expect(e).toMatchObject({
      category: 'FAULT',
      metric: 'latencyMs',
      direction: 'down',
      observed: r3(ms(2)),
      baseline: r3(ms(10)),
      expected: { low: r3(ms(10) / 1.5), high: Infinity },
      count: 60,
      share: 0.556, // (0.6 − 11/111) / (100/111) = (66.6 − 11)/100
      impact: true,
      strong: true,
    });
    expect(e.test).toContain('requests below the history p50');
  });

  it('slower requests are no evidence of a drop', () => {
    expect(judgeShift('latencyMs', 'down', hist([40, 100]), history, 'recent', D)).toBeUndefined();
  });
});

describe('judgeCalls: calls per caller request, quasi-Poisson both ways', () => {
  it('25 calls from 10 requests where 1 per request is usual: P(X ≥ 25 | μ = 10) = 4.7e-5', () => {
    const e = judgeCalls({ k: 25, n: 10 }, windows(10, { k: 10, n: 10 }), 'recent', D)!;
    near(e.pValue, naivePoissonUpper(25, 10), 1e-9);
    expect(e).toMatchObject({
      category: 'FAULT',
      metric: 'callsPerRequest',
      direction: 'up',
      observed: 2.5,
      expected: { low: 0.6667, high: 1.5 },
      baseline: 1,
      test: 'quasi-Poisson upper tail: P(X ≥ 25 | μ = 10 = 10 requests × 1, φ = 1)',
      sampleSize: 10,
      count: 25,
      phi: 1,
      share: 1,
      baselineWindows: 10,
      impact: true,
      strong: false,
    });
    // 24 calls: P(X ≥ 24 | 10) = 1.2e-4 > α
    expect(naivePoissonUpper(24, 10)).toBeGreaterThan(D.alpha);
    expect(judgeCalls({ k: 24, n: 10 }, windows(10, { k: 10, n: 10 }), 'recent', D)).toBeUndefined();
  });

  it('2 calls from 20 requests where 1 per request is usual: P(X ≤ 2 | 20) = e^−20(1 + 20 + 200)', () => {
    const e = judgeCalls({ k: 2, n: 20 }, windows(10, { k: 20, n: 20 }), 'recent', D)!;
    near(e.pValue, 221 * Math.exp(-20), 1e-9); // 4.6e-7
    expect(e).toMatchObject({ direction: 'down', observed: 0.1, share: 0.9, strong: false });
    expect(e.test).toBe('quasi-Poisson lower tail: P(X ≤ 2 | μ = 20 = 20 requests × 1, φ = 1)');
  });

  it('minCallsRatio: 1.4× or 0.7× the usual calls are not anomalies, however many requests', () => {
    const usual = windows(10, { k: 1000, n: 1000 });
    expect(judgeCalls({ k: 1400, n: 1000 }, usual, 'recent', D)).toBeUndefined();
    expect(judgeCalls({ k: 700, n: 1000 }, usual, 'recent', D)).toBeUndefined();
    // 1.4× is 12.6 sd above μ = 1,000: at minCallsRatio 1.3 it is flagged
    expect(judgeCalls({ k: 1400, n: 1000 }, usual, 'recent', withDefaults({ minCallsRatio: 1.3 }))).toMatchObject({ direction: 'up', observed: 1.4 });
  });

  it('a drop needs μ ≥ minLatencySamples expected calls: 0 calls where 4.8 were expected is not judged', () => {
    const o = withDefaults({ alpha: 0.01 });
    const history = windows(10, { k: 8, n: 10 }); // 0.8 calls per request
    // 6 requests: μ = 4.8 < 5; P(X ≤ 0 | 4.8) = e^−4.8 = 0.0082 would pass α = 0.01
    expect(Math.exp(-4.8)).toBeLessThan(o.alpha);
    expect(judgeCalls({ k: 0, n: 6 }, history, 'recent', o)).toBeUndefined();
    // 7 requests: μ = 5.6: P(X ≤ 0 | 5.6) = e^−5.6
    const e = judgeCalls({ k: 0, n: 7 }, history, 'recent', o)!;
    expect(e.direction).toBe('down');
    near(e.pValue, Math.exp(-5.6), 1e-9);
  });

  it('fewer caller requests than minLatencySamples, or a history without calls: undefined', () => {
    expect(judgeCalls({ k: 40, n: 4 }, windows(10, { k: 10, n: 10 }), 'recent', D)).toBeUndefined();
    expect(judgeCalls({ k: 40, n: 10 }, windows(10, { k: 0, n: 10 }), 'recent', D)).toBeUndefined();
    expect(judgeCalls({ k: 40, n: 10 }, windows(10, { k: 0, n: 0 }), 'recent', D)).toBeUndefined();
  });

  it('strong needs p < alphaStrong and share ≥ strongShare', () => {
    // 2 calls per request where 1 is usual, μ = 50: P(X ≥ 100 | 50) = 3.2e-10, share 1
    const up = judgeCalls({ k: 100, n: 50 }, windows(10, { k: 50, n: 50 }), 'recent', D)!;
    near(up.pValue, naivePoissonUpper(100, 50), 1e-9);
    expect(up.strong).toBe(true);
    const usual = windows(10, { k: 400, n: 400 });
    // 0.6 per request, μ = 400: P(X ≤ 240 | 400) ≈ 3.6e-18, but share 0.4 < 0.5
    const drop40 = judgeCalls({ k: 240, n: 400 }, usual, 'recent', D)!;
    near(drop40.pValue, naivePoissonLower(240, 400), 1e-8);
    expect(drop40).toMatchObject({ share: 0.4, strong: false });
    // 0.5 per request: share 0.5 = strongShare
    expect(judgeCalls({ k: 200, n: 400 }, usual, 'recent', D)).toMatchObject({ share: 0.5, strong: true });
    // 1.3 per request with minCallsRatio 1.2: P(X ≥ 520 | 400) = 5.4e-9 > alphaStrong, and share 0.3
    const up30 = judgeCalls({ k: 520, n: 400 }, usual, 'recent', withDefaults({ minCallsRatio: 1.2 }))!;
    near(up30.pValue, naivePoissonUpper(520, 400), 1e-8);
    expect(up30).toMatchObject({ share: 0.3, strong: false });
  });

  it('φ from the history: calls that varied 150/250 around 200 per 100 requests weigh 27× less', () => {
    // residuals ±50/√200, four of each: φ = (1.4826·50)² / 200 = 27.476
    const wild = [150, 250, 150, 250, 150, 250, 150, 250].map((k) => ({ k, n: 100 }));
    const calm = windows(8, { k: 200, n: 100 });
    const phi = (1.4826 * 50) ** 2 / 200;
    expect(phi).toBeCloseTo(27.476, 3);
    // 400 calls (2×): calm → P(X ≥ 400 | 200); wild → 400/φ = 14.6 → 14 of μ/φ = 7.28: P ≈ 0.017
    near(judgeCalls({ k: 400, n: 100 }, calm, 'recent', D)!.pValue, naivePoissonUpper(400, 200), 1e-8);
    expect(naivePoissonUpper(14, 200 / phi)).toBeGreaterThan(D.alpha);
    expect(judgeCalls({ k: 400, n: 100 }, wild, 'recent', D)).toBeUndefined();
    // 800 calls (4×): 800/φ = 29.1 → 29 of 7.28: P ≈ 1.0e-9
    const e = judgeCalls({ k: 800, n: 100 }, wild, 'recent', D)!;
    expect(e).toMatchObject({ phi: 27.476, baseline: 2, observed: 8, baselineWindows: 8 });
    near(e.pValue, naivePoissonUpper(29, 200 / phi), 1e-8);
  });

  it('a past retry storm is left out of the baseline: after 5 storm windows among 55 normal ones, a normal window is not flagged', () => {
    // 55 windows of 100 calls per 100 requests, 5 of 1,000 per 100 (a retry storm)
    const history = [...windows(55, { k: 100, n: 100 }), ...windows(5, { k: 1000, n: 100 })];
    // pooled over all 60: r = (55·100 + 5·1,000)/6,000 = 1.75 per request, μ = 175 per window; residuals
    // (100 − 175)/√175 = −5.67 (55 of them) and (1,000 − 175)/√175 = 62.4 (5): the median is −5.67, the
    // MAD 0 → sd 1, and the storm windows are 68 sd away (> 4): left out; the 55 kept give r = 1, φ = 1
    expect([(55 * 100 + 5 * 1000) / 6000, r3((100 - 175) / Math.sqrt(175)), r3((1000 - 175) / Math.sqrt(175))]).toEqual([1.75, -5.669, 62.364]);
    // 100 calls from 100 requests is exactly the usual 1 per request: nothing to report
    expect(judgeCalls({ k: 100, n: 100 }, history, 'recent', D)).toBeUndefined();
    // with the storm learned as normal, μ would be 175 and 100 calls a drop to 0.57×: P(X ≤ 100 | 175) < α
    expect(naivePoissonLower(100, 175)).toBeLessThan(D.alpha);
    // the baseline really is the 55 normal windows: 200 calls (2×) is judged against μ = 100
    const e = judgeCalls({ k: 200, n: 100 }, history, 'recent', D)!;
    expect(e).toMatchObject({ direction: 'up', baseline: 1, baselineWindows: 55, phi: 1, observed: 2 });
    near(e.pValue, naivePoissonUpper(200, 100), 1e-8);
  });
});
