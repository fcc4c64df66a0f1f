import { describe, expect, it } from 'vitest';
import { MAX_RELATIVE_ERROR, bucketOf, bucketValue } from '../../src/aggregate/histogram.js';
import { emptyStats } from '../../src/aggregate/stats.js';
import { learnBaseline } from '../../src/detect/baseline.js';
import { binomialUpperTail } from '../../src/detect/binomial.js';
import { judgeNode } from '../../src/detect/detect.js';
import { defaultDetectOptions, withDefaults } from '../../src/detect/options.js';
import { naiveUpperTail, stats, steadyBaseline } from '../helpers/window-stats.js';

/**
 * judgeNode, decision by decision, with the numbers worked out by hand. Defaults: α = 1e-4,
 * minCount 3, minRateIncrease 0.01 (absolute), minLatencyRatio 1.5, minLatencySamples 5,
 * minHistoryWindows 5.
 */

const D = defaultDetectOptions;
/** 10 windows of 1,000 requests with 5 faults: a 0.5 % fault rate learned from 10,000 requests. */
const halfPercent = steadyBaseline({ count: 1000, fault: 5 });

describe('judgeNode: fault rate, with the sample size built in', () => {
  it('the baseline it tests against: 0.5 % from 10 windows', () => {
    expect(halfPercent.windows).toBe(10);
    expect(halfPercent.requests).toBe(10_000);
    expect(halfPercent.faultRate).toBeCloseTo(0.005, 12);
  });

  it('2 faults out of 30 requests is not evidence, even with minCount out of the way', () => {
    // P(X ≥ 2 | n = 30, p = 0.005) = 1 - q^30 - 30·p·q^29 ≈ 0.0099, far above α = 1e-4
    const q = 0.995;
    const p = 1 - q ** 30 - 30 * 0.005 * q ** 29;
    expect(p).toBeGreaterThan(D.alpha * 50);
    const obs = stats({ count: 30, fault: 2 });
    expect(judgeNode(obs, halfPercent, D)).toEqual({ coldStart: false, anomalies: [] });
    expect(judgeNode(obs, halfPercent, withDefaults({ minCount: 1 }))).toEqual({ coldStart: false, anomalies: [] });
  });

  it('the same 6.7 % out of 30,000 requests (2,000 faults) is: the p-value underflows, score 300', () => {
    const v = judgeNode(stats({ count: 30_000, fault: 2000 }), halfPercent, D);
    expect(v.coldStart).toBe(false);
    expect(v.anomalies).toHaveLength(1);
    const e = v.anomalies[0]!;
    expect(e).toMatchObject({
      category: 'FAULT',
      metric: 'faultRate',
      observed: 0.066667, // 2000 / 30000, 6 decimals
      baseline: 0.005,
      // the binomial bound (≈ 195 / 30000 = 0.0065) is below baseline + minRateIncrease = 0.015
      expected: { low: 0, high: 0.015 },
      test: 'binomial one-sided: P(X ≥ 2000 | n = 30000, p = 0.005)',
      score: 300,
      sampleSize: 30_000,
      count: 2000,
      baselineWindows: 10,
      baselineSource: 'recent',
    });
    expect(e.pValue).toBeLessThan(1e-300);
  });

  it('100 requests: 5 faults are within the expected range [0, 5 %], 6 are not', () => {
    // P(X ≥ 5 | 100, 0.005) = 1.586e-4 > α; P(X ≥ 6 | 100, 0.005) = 1.246e-5 < α
    expect(naiveUpperTail(5, 100, 0.005)).toBeCloseTo(1.586e-4, 7);
    expect(naiveUpperTail(6, 100, 0.005)).toBeCloseTo(1.246e-5, 8);
    expect(judgeNode(stats({ count: 100, fault: 5 }), halfPercent, D).anomalies).toEqual([]);
    const [e] = judgeNode(stats({ count: 100, fault: 6 }), halfPercent, D).anomalies;
    expect(e).toBeDefined();
    // the largest count within the range is 5 (P(X > 5) ≤ α < P(X > 4)): 5/100, above 0.005 + 0.01
    expect(e!.expected).toEqual({ low: 0, high: 0.05 });
    expect(e!.observed).toBe(0.06);
    expect(e!.test).toBe('binomial one-sided: P(X ≥ 6 | n = 100, p = 0.005)');
    expect(e!.pValue / naiveUpperTail(6, 100, 0.005)).toBeCloseTo(1, 9);
    expect(e!.score).toBeCloseTo(-Math.log10(1.246e-5), 2); // 4.904
    expect(e!.observed).toBeGreaterThan(e!.expected.high);
  });

  it('minCount: 2 faults in 10 requests are never an anomaly at minCount 3, though the test alone would flag them', () => {
    // a baseline without faults is floored at 0.1 %: P(X ≥ 2 | 10, 0.001) = 1 - 0.999^10 - 10·0.001·0.999^9 ≈ 4.48e-5 < α
    const clean = steadyBaseline({ count: 1000 });
    expect(clean.faultRate).toBe(0);
    expect(1 - 0.999 ** 10 - 10 * 0.001 * 0.999 ** 9).toBeLessThan(D.alpha);
    const obs = stats({ count: 10, fault: 2 });
    expect(judgeNode(obs, clean, D).anomalies).toEqual([]);
    const [e] = judgeNode(obs, clean, withDefaults({ minCount: 2 })).anomalies;
    expect(e).toMatchObject({ category: 'FAULT', baseline: 0.001, count: 2, sampleSize: 10, test: 'binomial one-sided: P(X ≥ 2 | n = 10, p = 0.001)' });
    // and a single fault is no miracle at the floor: P(X ≥ 1 | 10, 0.001) ≈ 0.01
    expect(judgeNode(stats({ count: 10, fault: 1 }), clean, withDefaults({ minCount: 1 })).anomalies).toEqual([]);
  });

  it('minRateIncrease: a significant but small rise (1 % → 1.5 % of 100,000) is not an anomaly', () => {
    const onePercent = steadyBaseline({ count: 1000, fault: 10 });
    const obs = stats({ count: 100_000, fault: 1500 });
    // mean 1,000, sd √990 ≈ 31.5: 500 above is ~16 sd, the p-value is astronomically small
    expect(binomialUpperTail(1500, 100_000, 0.01)).toBeLessThan(1e-40);
    expect(judgeNode(obs, onePercent, D).anomalies).toEqual([]); // 0.5 pp < 1 pp
    const [e] = judgeNode(obs, onePercent, withDefaults({ minRateIncrease: 0.004 })).anomalies;
    expect(e).toMatchObject({ category: 'FAULT', observed: 0.015, baseline: 0.01 });
    expect(e!.expected.high).toBeCloseTo(0.014, 6); // max(bound/n ≈ 0.0114, 0.01 + 0.004)
  });

  it('2 % faults out of 30 is no evidence, out of 30,000 (over a clean 0.1 % baseline: +1.9 pp ≥ 1 pp) it is', () => {
    const clean = steadyBaseline({ count: 1000 });
    expect(judgeNode(stats({ count: 30, fault: 1 }), clean, D).anomalies).toEqual([]);
    const [e] = judgeNode(stats({ count: 30_000, fault: 600 }), clean, D).anomalies;
    expect(e).toMatchObject({ observed: 0.02, baseline: 0.001, score: 300, sampleSize: 30_000, count: 600 });
    // minRateIncrease is absolute: at 2 pp the same window is below the bar
    expect(judgeNode(stats({ count: 30_000, fault: 600 }), clean, withDefaults({ minRateIncrease: 0.02 })).anomalies).toEqual([]);
  });
});

describe('judgeNode: throttles', () => {
  it('100 throttles in 1,000 requests over a 0.2 % baseline: a THROTTLE anomaly, no FAULT', () => {
    const base = steadyBaseline({ count: 1000, throttle: 2 });
    expect(base.throttleRate).toBeCloseTo(0.002, 12);
    const v = judgeNode(stats({ count: 1000, throttle: 100 }), base, D);
    expect(v.anomalies.map((e) => e.category)).toEqual(['THROTTLE']);
    expect(v.anomalies[0]).toMatchObject({
      metric: 'throttleRate',
      observed: 0.1,
      baseline: 0.002,
      // max(binomial bound ≈ 10/1000, 0.002 + minRateIncrease 0.01)
      expected: { low: 0, high: 0.012 },
      test: 'binomial one-sided: P(X ≥ 100 | n = 1000, p = 0.002)',
      sampleSize: 1000,
      count: 100,
    });
  });

  it('faults and throttles are judged separately in the same window', () => {
    const base = steadyBaseline({ count: 1000, fault: 2, throttle: 2 });
    const v = judgeNode(stats({ count: 1000, fault: 80, throttle: 100 }), base, D);
    expect(v.anomalies.map((e) => [e.category, e.count])).toEqual([
      ['FAULT', 80],
      ['THROTTLE', 100],
    ]);
  });
});

describe('judgeNode: latency (requests slower than the baseline p90)', () => {
  // baseline: 80 % at 50 ms, 20 % at 100 ms → p90 is the 100 ms bucket
  const base = steadyBaseline({ count: 1000, latencies: [[50, 800], [100, 200]] });
  const baseP90 = bucketValue(bucketOf(100));
  const at200 = bucketValue(bucketOf(200));

  it('the baseline p90 is 100 ms within the histogram error', () => {
    expect(base.p90Ms).toBe(baseP90);
    expect(Math.abs(base.p90Ms - 100) / 100).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
  });

  it('p90 doubled with 40 of 100 requests slower than the baseline p90: flagged', () => {
    const v = judgeNode(stats({ count: 100, latencies: [[50, 60], [200, 40]] }), base, D);
    expect(v.anomalies).toHaveLength(1);
    const e = v.anomalies[0]!;
    expect(e).toMatchObject({
      category: 'LATENCY',
      metric: 'p90Ms',
      observed: Math.round(at200 * 1000) / 1000,
      baseline: Math.round(baseP90 * 1000) / 1000,
      expected: { low: 0, high: Math.round(baseP90 * 1.5 * 1000) / 1000 },
      test: 'binomial one-sided on requests slower than the baseline p90: P(X ≥ 40 | n = 100, p = 0.1)',
      sampleSize: 100,
      count: 40,
      baselineWindows: 10,
    });
    expect(Math.abs(e.observed - 200) / 200).toBeLessThanOrEqual(MAX_RELATIVE_ERROR + 1e-6);
    // P(X ≥ 40 | 100, 0.1) = 2.9455e-15
    expect(e.pValue / naiveUpperTail(40, 100, 0.1)).toBeCloseTo(1, 9);
    expect(e.pValue).toBeCloseTo(2.9455e-15, 18);
    expect(e.score).toBeCloseTo(14.531, 3);
  });

  it('the same shift in fewer requests than minLatencySamples is not flagged', () => {
    // 40 requests, all at 200 ms: P(X ≥ 40 | 40, 0.1) = 1e-40, but 40 < 50 samples
    const obs = stats({ count: 40, latencies: [[200, 40]] });
    expect(judgeNode(obs, base, withDefaults({ minLatencySamples: 50 })).anomalies).toEqual([]);
    expect(judgeNode(obs, base, D).anomalies.map((e) => e.category)).toEqual(['LATENCY']);
    // at the default of 5: four slow requests are not enough either
    expect(judgeNode(stats({ count: 4, latencies: [[200, 4]] }), base, D).anomalies).toEqual([]);
  });

  it('a 1.3× shift is not flagged, however many requests are slower', () => {
    const v = judgeNode(stats({ count: 1000, latencies: [[130, 1000]] }), base, D);
    expect(v.anomalies).toEqual([]);
  });

  it('p90 at 2× but only 11 of 100 requests slower than the baseline p90: P ≈ 0.42, not flagged', () => {
    expect(naiveUpperTail(11, 100, 0.1)).toBeGreaterThan(0.4);
    expect(judgeNode(stats({ count: 100, latencies: [[50, 89], [200, 11]] }), base, D).anomalies).toEqual([]);
  });

  it('no latency history (no p90): nothing to compare against', () => {
    const noLatency = learnBaseline(Array.from({ length: 10 }, () => ({ ...emptyStats(), count: 3 })));
    expect(noLatency.p90Ms).toBeNaN();
    expect(judgeNode(stats({ count: 100, latencies: [[200, 100]] }), noLatency, D).anomalies).toEqual([]);
  });
});

describe('judgeNode: cold start', () => {
  const window = () => stats({ count: 1000, fault: 5 });
  const incident = stats({ count: 30_000, fault: 2000 });

  it('fewer than minHistoryWindows windows of history: coldStart, nothing flagged even for 2,000 faults', () => {
    const four = learnBaseline([window(), window(), window(), window()]);
    expect(four.windows).toBe(4);
    expect(judgeNode(incident, four, D)).toEqual({ coldStart: true, anomalies: [] });
  });

  it('windows without traffic do not count towards the history', () => {
    const sparse = learnBaseline([window(), emptyStats(), window(), emptyStats(), emptyStats(), window(), window(), emptyStats()]);
    expect(sparse.windows).toBe(4);
    expect(judgeNode(incident, sparse, D).coldStart).toBe(true);
  });

  it('with minHistoryWindows windows it judges', () => {
    const five = learnBaseline([window(), window(), window(), window(), window()]);
    const v = judgeNode(incident, five, D);
    expect(v.coldStart).toBe(false);
    expect(v.anomalies.map((e) => [e.category, e.baselineWindows])).toEqual([['FAULT', 5]]);
    expect(judgeNode(incident, five, withDefaults({ minHistoryWindows: 6 })).coldStart).toBe(true);
  });
});
