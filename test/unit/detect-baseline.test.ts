import { describe, expect, it } from 'vitest';
import { MAX_RELATIVE_ERROR, bucketOf, bucketValue } from '../../src/aggregate/histogram.js';
import { emptyStats } from '../../src/aggregate/stats.js';
import { learnBaseline } from '../../src/detect/baseline.js';
import { judgeNode } from '../../src/detect/detect.js';
import { defaultDetectOptions } from '../../src/detect/options.js';
import { stats } from '../helpers/window-stats.js';

/** Ten normal windows: 1,000 requests each, 4–6 faults (50 in all), 2 throttles, 85 % at 20 ms and 15 % at 80 ms, 12 ms own time. */
const FAULTS = [4, 5, 6, 5, 5, 4, 6, 5, 5, 5];
const normal = () => FAULTS.map((fault) => stats({ count: 1000, fault, throttle: 2, latencies: [[20, 850], [80, 150]], ownMs: 12 }));

describe('learnBaseline', () => {
  it('pools the windows: rates are total faults / total requests, not a mean of rates', () => {
    const b = learnBaseline(normal());
    expect(b).toMatchObject({ windows: 10, outlierWindows: 0, requests: 10_000, source: 'recent' });
    expect(b.faultRate).toBeCloseTo(50 / 10_000, 12);
    expect(b.throttleRate).toBeCloseTo(20 / 10_000, 12);
    expect(b.ownTimeMeanMs).toBeCloseTo(12, 9);
    // pooled histogram: 8,500 at 20 ms, 1,500 at 80 ms → p50 is the 20 ms bucket, p90 the 80 ms one
    expect(b.histogram.get(bucketOf(20))).toBe(8500);
    expect(b.histogram.get(bucketOf(80))).toBe(1500);
    expect(b.p50Ms).toBe(bucketValue(bucketOf(20)));
    expect(b.p90Ms).toBe(bucketValue(bucketOf(80)));
    expect(Math.abs(b.p90Ms - 80) / 80).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
  });

  it('pools by requests when windows differ in size', () => {
    // 0 faults in 100 and 20 in 900: 20 / 1,000 = 2 %, where the mean of the rates would say 1.11 %
    const b = learnBaseline([stats({ count: 100, fault: 0 }), stats({ count: 900, fault: 20 })]);
    expect(b.faultRate).toBeCloseTo(0.02, 12);
    expect(b.requests).toBe(1000);
  });

  it('drops a past incident window (fault rate 30 %) instead of learning that it is normal', () => {
    const history = normal();
    history.splice(4, 0, stats({ count: 1000, fault: 300, throttle: 2, latencies: [[20, 850], [80, 150]], ownMs: 12 }));
    const b = learnBaseline(history);
    expect(b.windows).toBe(10);
    expect(b.outlierWindows).toBe(1);
    expect(b.requests).toBe(10_000);
    expect(b.faultRate).toBeCloseTo(0.005, 12); // not 350 / 11,000 = 3.2 %
    // so the same incident, happening again, is still an anomaly
    const again = judgeNode(stats({ count: 1000, fault: 300 }), b, defaultDetectOptions);
    expect(again.anomalies.map((e) => e.category)).toEqual(['FAULT']);
  });

  it('drops a throttling window and a slow window too', () => {
    const history = normal();
    history.push(stats({ count: 1000, fault: 5, throttle: 250, latencies: [[20, 850], [80, 150]] }));
    history.push(stats({ count: 1000, fault: 5, throttle: 2, latencies: [[400, 1000]] }));
    const b = learnBaseline(history);
    expect(b).toMatchObject({ windows: 10, outlierWindows: 2, requests: 10_000 });
    expect(b.throttleRate).toBeCloseTo(0.002, 12);
    expect(b.p90Ms).toBe(bucketValue(bucketOf(80)));
  });

  it('keeps ordinary wobble: 4 to 9 faults per 1,000 are all normal', () => {
    const wobbly = [4, 9, 5, 7, 6, 8, 5, 4, 9, 6].map((fault) => stats({ count: 1000, fault }));
    const b = learnBaseline(wobbly);
    expect(b.outlierWindows).toBe(0);
    expect(b.faultRate).toBeCloseTo(63 / 10_000, 12);
  });

  it('with fewer than 4 windows nothing is an outlier (too few to tell)', () => {
    const b = learnBaseline([stats({ count: 1000, fault: 5 }), stats({ count: 1000, fault: 5 }), stats({ count: 1000, fault: 300 })]);
    expect(b.outlierWindows).toBe(0);
    expect(b.faultRate).toBeCloseTo(310 / 3000, 12);
  });

  it('ignores windows without traffic', () => {
    const history = normal();
    history.splice(2, 0, emptyStats(), emptyStats());
    history.push(emptyStats());
    const b = learnBaseline(history);
    expect(b).toMatchObject({ windows: 10, outlierWindows: 0, requests: 10_000 });
    expect(b.faultRate).toBeCloseTo(0.005, 12);
  });

  it('no traffic at all: an empty baseline (zero rates, no percentiles)', () => {
    const b = learnBaseline([emptyStats(), emptyStats()]);
    expect(b).toMatchObject({ windows: 0, outlierWindows: 0, requests: 0, faultRate: 0, throttleRate: 0, ownTimeMeanMs: 0 });
    expect(b.p90Ms).toBeNaN();
    expect(learnBaseline([]).windows).toBe(0);
  });

  it('tags the source: recent windows by default, the daily profile when asked, and the evidence carries it', () => {
    expect(learnBaseline(normal()).source).toBe('recent');
    const daily = learnBaseline(normal(), 'daily');
    expect(daily.source).toBe('daily');
    const [e] = judgeNode(stats({ count: 1000, fault: 300 }), daily, defaultDetectOptions).anomalies;
    expect(e).toMatchObject({ baselineSource: 'daily', baselineWindows: 10 });
  });
});
