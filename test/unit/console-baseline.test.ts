import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/aggregate/histogram.js';
import { emptyStats, type Stats } from '../../src/aggregate/stats.js';
import { rollingBaseline } from '../../src/api/console-baseline.js';
import { binomialUpperBound } from '../../src/detect/binomial.js';
import { defaultDetectOptions } from '../../src/detect/options.js';

/** A window of `count` requests, `fault` of them faults, every one taking `ms`. */
function win(count: number, fault: number, ms: number): Stats {
  const s = emptyStats();
  s.count = count;
  s.fault = fault;
  s.ok = count - fault;
  s.histogram.set(bucketOf(ms), count);
  return s;
}

const o = { ...defaultDetectOptions, historyWindows: 10, minHistoryWindows: 5 };
const series = (stats: Stats[]) => stats.map((s, i) => ({ start: 1000 + i * 10, stats: s }));

describe('console expected bands', () => {
  it('no band until enough history windows with traffic; then the detector rules for this sample size', () => {
    const stats = [...Array.from({ length: 12 }, () => win(100, 1, 20)), win(100, 30, 80)];
    const pts = rollingBaseline(series(stats), 0, o);
    expect(pts).toHaveLength(13);
    expect(pts[4]!.expected).toBeNull();
    expect(pts[5]!.baselineWindows).toBe(5);
    const last = pts[12]!;
    expect(last.baselineWindows).toBe(10);
    // rate: 1 % baseline; upper bound = max(binomial bound at alpha for n = 100, baseline + 1 point)
    expect(last.expected!.faultRate).toEqual([0, Math.max(binomialUpperBound(100, 0.01, o.alpha) / 100, 0.02)]);
    expect(last.faultRate).toBe(0.3);
    expect(last.faultRate!).toBeGreaterThan(last.expected!.faultRate![1]);
    // percentiles: within ×1.5 of the pooled history's (20 ms, to the histogram's 1 %)
    const [lo, hi] = last.expected!.p90Ms!;
    expect(lo * 1.5).toBeCloseTo(hi / 1.5, 1);
    expect(hi / 1.5).toBeGreaterThan(19.7);
    expect(hi / 1.5).toBeLessThan(20.3);
    expect(last.p90Ms!).toBeGreaterThan(hi);
    expect(last.expected!.count).toEqual([70, 130]);
  });

  it('the lead windows are history only, the pool slides, and excluded windows never join it', () => {
    const stats = [win(100, 50, 500), ...Array.from({ length: 20 }, () => win(100, 0, 20))];
    const all = rollingBaseline(series(stats), 5, o);
    expect(all).toHaveLength(16);
    expect(all[0]!.start).toBe(1050);
    // the faulty first window is in the history of windows 1..10 only
    expect(all[0]!.expected!.faultRate![1]).toBeGreaterThan(0.05);
    expect(all[6]!.expected!.faultRate).toEqual([0, 0.01]);
    const clean = rollingBaseline(series(stats), 5, o, (start) => start === 1000);
    // 4 clean windows before 1050 are too few; from 1060 on, 5 are enough
    expect(clean[0]!.expected).toBeNull();
    expect(clean[1]!.baselineWindows).toBe(5);
    expect(clean[1]!.expected!.faultRate).toEqual([0, 0.01]);
    expect(all[1]!.expected!.faultRate![1]).toBeGreaterThan(0.05);
  });

  it('a window without requests has no rate band and no rates', () => {
    const stats = [...Array.from({ length: 6 }, () => win(50, 0, 10)), emptyStats()];
    const p = rollingBaseline(series(stats), 6, o)[0]!;
    expect(p.count).toBe(0);
    expect(p.faultRate).toBeNull();
    expect(p.expected!.faultRate).toBeNull();
    expect(p.expected!.count[0]).toBeGreaterThan(0);
  });
});
