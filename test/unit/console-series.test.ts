import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/aggregate/histogram.js';
import { emptyStats, summarize, type Stats } from '../../src/aggregate/stats.js';
import { bucketFactor, bucketize } from '../../src/api/console-series.js';

const win = (count: number, fault: number, ms: number): Stats => {
  const s = emptyStats();
  s.count = count;
  s.fault = fault;
  s.ok = count - fault;
  s.histogram.set(bucketOf(ms), count);
  return s;
};

describe('console series buckets', () => {
  it('a long range is drawn in at most MAX_POINTS points', () => {
    expect(bucketFactor(90)).toBe(1);
    expect(bucketFactor(1500)).toBe(1);
    expect(bucketFactor(10_080)).toBe(7); // 7 days of 60-second windows
    expect(bucketFactor(60_480)).toBe(41); // 7 days of 10-second windows
  });

  it('merges windows exactly into buckets aligned on the bucket length', () => {
    // windows at 20, 30, …, 70 s; buckets of 3 windows (30 s) start at 0, 30, 60
    const windows = [20, 30, 40, 50, 60, 70].map((start, i) => ({ start, stats: win(10, i === 4 ? 5 : 0, 10 * (i + 1)) }));
    const b = bucketize(windows, 10, 3);
    expect(b.map((x) => x.start)).toEqual([0, 30, 60]);
    expect(b.map((x) => x.stats.count)).toEqual([10, 30, 20]);
    expect(summarize(b[2]!.stats).faultRate).toBe(0.25);
    // the percentiles of a bucket are those of all its requests (20, 30 and 40 ms, ten each)
    const s = summarize(b[1]!.stats);
    expect(s.p50Ms!).toBeGreaterThan(29.6);
    expect(s.p50Ms!).toBeLessThan(30.4);
    expect(s.p90Ms!).toBeGreaterThan(39.5);
    expect(bucketize(windows, 10, 1)).toEqual(windows);
  });
});
