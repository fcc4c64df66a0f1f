import { describe, expect, it } from 'vitest';
import { bucketOf, bucketValue } from '../../src/aggregate/histogram.js';
import { judgeCalls, judgeRate, judgeShift, type Count } from '../../src/detect/detect.js';
import { defaultDetectOptions as D } from '../../src/detect/options.js';
import { hist, naivePoissonUpper, naiveUpperTail } from '../helpers/window-stats.js';

/**
 * What each judgement learns from a node's history, read back from the evidence it reports (baseline,
 * baselineWindows, baselineSource): rates pooled by requests, past incidents left out of the baseline,
 * windows without traffic ignored.
 */

const near = (a: number, b: number, rel = 1e-9) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b));
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const ms = (x: number) => bucketValue(bucketOf(x));
/** 300 faults of 1,000: flagged against any baseline below a few per cent */
const incident = { k: 300, n: 1000 };

describe('rate baselines', () => {
  it('pool the windows by requests: 0 of 100 and 20 of 900 is 20/1,000 = 2 %, not the mean of the rates (1.1 %)', () => {
    const e = judgeRate('FAULT', incident, [{ k: 0, n: 100 }, { k: 20, n: 900 }], 'recent', D)!;
    expect(e).toMatchObject({ baseline: 0.02, baselineWindows: 2 });
  });

  it('leave out a past incident window (30 % faults) instead of learning that it is normal', () => {
    const history: Count[] = [...Array.from({ length: 9 }, () => ({ k: 5, n: 1000 })), { k: 300, n: 1000 }];
    // with it the baseline would be 345/10,000 = 3.45 %; without it, 45/9,000 = 0.5 %
    const e = judgeRate('FAULT', incident, history, 'recent', D)!;
    expect(e).toMatchObject({ baseline: 0.005, baselineWindows: 9, phi: 1 });
    // so the same incident, happening again, is judged against 0.5 %
    near(e.pValue, naiveUpperTail(300, 1000, 0.005), 1e-6);
  });

  it('keep ordinary wobble: 4 to 9 faults per 1,000 are all normal (63/10,000)', () => {
    const history = [4, 9, 5, 7, 6, 8, 5, 4, 9, 6].map((k) => ({ k, n: 1000 }));
    expect(judgeRate('FAULT', incident, history, 'recent', D)).toMatchObject({ baseline: 0.0063, baselineWindows: 10 });
  });

  it('with fewer than 4 windows nothing is left out (too few to tell)', () => {
    const history = [{ k: 5, n: 1000 }, { k: 5, n: 1000 }, { k: 300, n: 1000 }];
    expect(judgeRate('FAULT', { k: 500, n: 1000 }, history, 'recent', D)).toMatchObject({ baseline: 0.103333, baselineWindows: 3 });
  });

  it('ignore windows without traffic', () => {
    const history: Count[] = [...Array.from({ length: 10 }, () => ({ k: 5, n: 1000 })), { k: 0, n: 0 }, { k: 0, n: 0 }];
    expect(judgeRate('FAULT', incident, history, 'recent', D)).toMatchObject({ baseline: 0.005, baselineWindows: 10 });
  });

  it('carry their source into the evidence', () => {
    const history = Array.from({ length: 10 }, () => ({ k: 5, n: 1000 }));
    expect(judgeRate('FAULT', incident, history, 'daily', D)!.baselineSource).toBe('daily');
    expect(judgeRate('FAULT', incident, history, 'recent', D)!.baselineSource).toBe('recent');
  });
});

describe('latency baselines', () => {
  const normal = () => hist([10, 100], [20, 11]);

  it('leave out a past slow window: the history p90 stays the 10 ms bucket', () => {
    // with the 111 requests at 100 ms pooled in, the p90 (rank 999 of 1,110) would be the 20 ms bucket
    const history = [...Array.from({ length: 9 }, normal), hist([100, 111])];
    const e = judgeShift('latencyMs', 'up', hist([10, 60], [30, 40]), history, 'daily', D)!;
    expect(e).toMatchObject({ baseline: r3(ms(10)), baselineWindows: 9, baselineSource: 'daily', count: 40 });
    // 99 of the 999 kept requests beyond the threshold: p0 = 99/999 = 11/111
    near(e.pValue, 2 * naiveUpperTail(40, 100, 99 / 999), 1e-8);
  });
});

describe('calls-per-request baselines', () => {
  it('pool calls over caller requests: 100 of 100 and 300 of 100 → 2 per request', () => {
    const history = [{ k: 100, n: 100 }, { k: 300, n: 100 }, { k: 200, n: 100 }, { k: 200, n: 100 }, { k: 0, n: 0 }];
    const e = judgeCalls({ k: 800, n: 100 }, history, 'recent', D)!;
    // residuals (−100, 100, 0, 0)/√200 → MAD 50/√200 → φ = (1.4826·50)²/200 = 27.476; 800/φ = 29.1 → 29 of μ/φ = 7.28.
    // None is left out: each residual is within 4·1.4826·50/√200 = 21 of the median 0
    expect(e).toMatchObject({ baseline: 2, baselineWindows: 4, phi: 27.476 });
    near(e.pValue, naivePoissonUpper(29, 200 / ((1.4826 * 50) ** 2 / 200)), 1e-8);
  });
});
