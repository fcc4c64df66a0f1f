import { describe, expect, it } from 'vitest';
import { bucketOf, bucketValue, type Histogram } from '../../src/aggregate/histogram.js';
import { countBeyond, keepHistory, shiftTest } from '../../src/detect/shift.js';
import { hist, naiveUpperTail } from '../helpers/window-stats.js';

/**
 * The sign test behind every latency, own-time and gap decision, on histograms small enough to count
 * by hand: which bucket is the threshold, how many requests lie strictly beyond it (in the window and in
 * the pooled history), the overdispersion φ of the history windows' counts, and the p-value.
 */

const near = (a: number, b: number, rel = 1e-9) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b));
const ms = (x: number) => bucketValue(bucketOf(x));
const times = (n: number, h: () => Histogram) => Array.from({ length: n }, h);

/** p0 = 9 of the 99 pooled history requests beyond the threshold = 1/11 */
const P0 = 9 / 99;
const Q0 = 1 - P0; // 10/11
/** P(X ≥ 4 | n = 10, p = 1/11) = 1 − Σ_{i<4} C(10, i)·(1/11)^i·(10/11)^(10−i) */
const P_4_OF_10 = 1 - (Q0 ** 10 + 10 * P0 * Q0 ** 9 + 45 * P0 ** 2 * Q0 ** 8 + 120 * P0 ** 3 * Q0 ** 7);

describe('shiftTest: up', () => {
  // 9 history windows of 11 requests: 10 at 10 ms, 1 at 20 ms → pooled 90 at 10 ms, 9 at 20 ms (N = 99)
  const calm = times(9, () => hist([10, 10], [20, 1]));

  it('p90 of the pooled history is the 10 ms bucket; 4 of 10 window requests beyond it, against p0 = 9/99', () => {
    const t = shiftTest(hist([10, 6], [20, 4]), calm, 0.9, 'up')!;
    // rank ⌈0.9·99⌉ = 90: the 90 requests at 10 ms reach it
    expect(t.thresholdMs).toBe(ms(10));
    // window p90: rank 9 of 10, past the 6 at 10 ms → the 20 ms bucket
    expect(t.observedMs).toBe(ms(20));
    expect(t).toMatchObject({ direction: 'up', quantile: 0.9, k: 4, n: 10, phi: 1, historyWindows: 9 });
    // 9 of the 99 history requests strictly beyond the threshold bucket: p0 = 9/99 = 1/11
    near(t.p0, 9 / 99);
    expect(P_4_OF_10).toBeCloseTo(0.0091537, 7);
    near(t.pValue, P_4_OF_10);
    near(t.share, (0.4 - 1 / 11) / (10 / 11)); // (4.4 − 1)/10 = 0.34
  });

  it('history windows that all look alike have φ = 1 (their residuals do not vary, MAD 0)', () => {
    expect(shiftTest(hist([10, 6], [20, 4]), calm, 0.9, 'up')!.phi).toBe(1);
  });

  it('a request in the threshold bucket itself is not beyond it; none beyond in history → p0 floored at 1/(N + 1)', () => {
    // p95: rank ⌈0.95·99⌉ = 95 > 90 → the 20 ms bucket; nothing in history lies beyond it
    const inBucket = shiftTest(hist([10, 6], [20, 4]), calm, 0.95, 'up')!;
    expect(inBucket.thresholdMs).toBe(ms(20));
    expect(inBucket.k).toBe(0);
    near(inBucket.p0, 1 / 100);
    expect(inBucket.pValue).toBe(1);
    expect(inBucket.share).toBe(0);
    // 2 at 40 ms are beyond: P(X ≥ 2 | 10, 0.01) = 1 − 0.99^10 − 10·0.01·0.99^9
    const beyond = shiftTest(hist([10, 8], [40, 2]), calm, 0.95, 'up')!;
    expect(beyond.k).toBe(2);
    near(beyond.pValue, 1 - 0.99 ** 10 - 10 * 0.01 * 0.99 ** 9); // 0.00427
  });

  it('a single history request beyond the threshold is taken at its share, 1/N: the floor is only for none', () => {
    // one of the 9 windows has its slow request at 40 ms instead of 20 ms → pooled 90 at 10, 8 at 20, 1 at 40 ms;
    // p95 (rank 95) is still the 20 ms bucket, and 1 of the 99 lies beyond it: p0 = 1/99, not 1/100
    const once = [...times(8, () => hist([10, 10], [20, 1])), hist([10, 10], [40, 1])];
    const t = shiftTest(hist([10, 8], [40, 2]), once, 0.95, 'up')!;
    expect(t.thresholdMs).toBe(ms(20));
    expect(t.k).toBe(2);
    near(t.p0, 1 / 99);
    // P(X ≥ 2 | 10, 1/99) = 1 − (98/99)^10 − 10·(1/99)·(98/99)^9
    near(t.pValue, 1 - (98 / 99) ** 10 - 10 * (1 / 99) * (98 / 99) ** 9); // 0.00435
  });

  it('the median too: p50 of the history is the 10 ms bucket', () => {
    // rank ⌈0.5·99⌉ = 50; the window's median (rank 5 of 10) is at 10 ms as well
    const t = shiftTest(hist([10, 6], [20, 4]), calm, 0.5, 'up')!;
    expect(t.thresholdMs).toBe(ms(10));
    expect(t.observedMs).toBe(ms(10));
    expect(t.k).toBe(4);
    near(t.pValue, P_4_OF_10);
  });

  it('a gap history mostly at zero: the threshold is the zero bucket (0 ms), and any positive gap is beyond it', () => {
    // 9 windows: 10 gaps of 0 ms, 1 of 3 ms → pooled 90 in the zero bucket, 9 at 3 ms
    const gaps = times(9, () => hist([0, 10], [3, 1]));
    const t = shiftTest(hist([0, 6], [3, 4]), gaps, 0.9, 'up')!;
    expect(t.thresholdMs).toBe(0);
    expect(t.k).toBe(4);
    near(t.p0, 9 / 99);
    near(t.pValue, P_4_OF_10);
  });

  it('undefined without history or without requests in the window', () => {
    expect(shiftTest(hist([10, 5]), [], 0.9, 'up')).toBeUndefined();
    expect(shiftTest(hist([10, 5]), [new Map(), new Map()], 0.9, 'up')).toBeUndefined();
    expect(shiftTest(new Map(), calm, 0.9, 'up')).toBeUndefined();
  });
});

describe('shiftTest: down (requests that end early)', () => {
  // 9 windows of 11: 1 at 5 ms, 10 at 10 ms → pooled 9 at 5 ms, 90 at 10 ms
  const history = times(9, () => hist([5, 1], [10, 10]));

  it('p10 of the history is the 10 ms bucket; 5 of 10 window requests below it, against p0 = 9/99', () => {
    const t = shiftTest(hist([2, 5], [10, 5]), history, 0.1, 'down')!;
    // rank ⌈0.1·99⌉ = 10: the 9 at 5 ms do not reach it
    expect(t.thresholdMs).toBe(ms(10));
    expect(t.observedMs).toBe(ms(2)); // rank 1 of 10
    expect(t).toMatchObject({ direction: 'down', k: 5, n: 10, phi: 1 });
    near(t.p0, 9 / 99);
    // P(X ≥ 5 | 10, 1/11) = 1 − Σ_{i<5} C(10, i)·(1/11)^i·(10/11)^(10−i)
    const p = 1 - (Q0 ** 10 + 10 * P0 * Q0 ** 9 + 45 * P0 ** 2 * Q0 ** 8 + 120 * P0 ** 3 * Q0 ** 7 + 210 * P0 ** 4 * Q0 ** 6);
    expect(p).toBeCloseTo(0.0010573, 7);
    near(t.pValue, p);
    near(t.share, (0.5 - 1 / 11) / (10 / 11)); // (5.5 − 1)/10 = 0.45
  });

  it('slower requests are not counted going down', () => {
    const t = shiftTest(hist([10, 5], [40, 5]), history, 0.1, 'down')!;
    expect(t.k).toBe(0);
    expect(t.pValue).toBe(1);
  });
});

describe('shiftTest: overdispersed history', () => {
  // 8 windows of 100 requests with k at 20 ms and the rest at 10 ms; both pool to 720 at 10 ms and 80 at
  // 20 ms, so both have the same threshold (p90: rank 720 → the 10 ms bucket) and p0 = 80/800 = 0.1
  const calm = [9, 11, 10, 10, 9, 11, 10, 10].map((k) => hist([10, 100 - k], [20, k]));
  const wild = [5, 15, 5, 15, 5, 15, 5, 15].map((k) => hist([10, 100 - k], [20, k]));
  const p0 = 80 / 800;
  const sdBinomial = Math.sqrt(100 * p0 * (1 - p0)); // √9 = 3
  const window = hist([10, 70], [20, 30]);

  it('counts of 5 and 15 where sampling predicts 10 ± 3: φ = (1.4826·5/√(100·p0·(1 − p0)))² = (1.4826·5/3)² ≈ 6.11', () => {
    // residuals (5 − 100p0)/sd and (15 − 100p0)/sd, four of each: median halfway, every deviation 5/sd
    const phi = (1.4826 * (5 / sdBinomial)) ** 2;
    expect(phi).toBeCloseTo(6.1058, 4);
    const t = shiftTest(window, wild, 0.9, 'up')!;
    near(t.p0, p0);
    near(t.phi, phi);
  });

  it('counts of 9, 10, 11 vary no more than sampling: φ = 1', () => {
    // deviations 0 (four) and 1/sd (four): MAD 0.5/sd → (1.4826·0.5/3)² ≈ 0.06 → 1
    expect(shiftTest(window, calm, 0.9, 'up')!.phi).toBe(1);
  });

  it('30 of 100 beyond: 2.4e-8 against the calm history, 0.068 against the wild one (4 of 16 effective requests)', () => {
    const phi = (1.4826 * (5 / sdBinomial)) ** 2;
    // 30/6.11 = 4.91 → 4 requests beyond, of 100/6.11 = 16.38 → 16
    expect([Math.floor(30 / phi), Math.round(100 / phi)]).toEqual([4, 16]);
    const vsCalm = shiftTest(window, calm, 0.9, 'up')!;
    const vsWild = shiftTest(window, wild, 0.9, 'up')!;
    expect([vsCalm.k, vsCalm.n, vsWild.k, vsWild.n]).toEqual([30, 100, 30, 100]);
    near(vsCalm.pValue, naiveUpperTail(30, 100, p0), 1e-8);
    near(vsWild.pValue, naiveUpperTail(4, 16, p0), 1e-8);
    expect(vsCalm.pValue).toBeCloseTo(2.4451e-8, 10);
    expect(vsWild.pValue).toBeCloseTo(0.0684, 4);
    // the share of the window affected does not depend on the history's noise
    expect(vsWild.share).toBe(vsCalm.share);
  });
});

describe('countBeyond', () => {
  const h = hist([0, 2], [5, 3], [10, 4], [20, 5]);

  it('counts requests in buckets strictly above (up) or below (down) the given bucket', () => {
    const t = Number(bucketOf(10));
    expect(countBeyond(h, t, 'up')).toBe(5);
    expect(countBeyond(h, t, 'down')).toBe(5); // 2 at zero + 3 at 5 ms
  });

  it('the zero bucket is below every other bucket', () => {
    expect(countBeyond(h, -Infinity, 'up')).toBe(12);
    expect(countBeyond(h, -Infinity, 'down')).toBe(0);
  });
});

describe('keepHistory: a past incident in the history does not become its baseline', () => {
  const at = (x: number, n = 10) => hist([x, n]);

  it('drops a window whose median is 10× the others (and keeps the others, in order)', () => {
    const normal = times(5, () => at(10));
    const incident = at(100);
    const kept = keepHistory([normal[0]!, normal[1]!, incident, normal[2]!, normal[3]!, normal[4]!]);
    expect(kept).toEqual(normal);
    expect(kept).not.toContain(incident);
  });

  it('a window that ended early (median 5 ms against 10 ms) is an incident too', () => {
    const fast = at(5);
    expect(keepHistory([...times(5, () => at(10)), fast])).not.toContain(fast);
  });

  it('against identical windows the limit is a factor of 1.5: 14 ms is kept, 16 ms is not', () => {
    // MAD 0 → the limit is log 1.5; 14/10 = 1.4 and 16/10 = 1.6 (each within 1.1 % in its bucket)
    const slow14 = at(14);
    const slow16 = at(16);
    expect(keepHistory([...times(5, () => at(10)), slow14])).toContain(slow14);
    expect(keepHistory([...times(5, () => at(10)), slow16])).not.toContain(slow16);
  });

  it('a history that spreads widely tolerates more: 4 robust sd of its log medians', () => {
    // medians 10, 10, 20, 20, 40, 40 ms and one more: the median is 20 ms, the deviations in log are
    // ln 2 × (1, 1, 0, 0, 1, 1, …) → MAD ln 2, limit 4·1.4826·ln 2 = 4.11 (a factor of 61)
    const spread = [10, 10, 20, 20, 40, 40].map((x) => at(x));
    const slow200 = at(200); // ln(200/20) ≈ 2.3: kept
    const slow2000 = at(2000); // ln(2000/20) ≈ 4.6: dropped
    expect(keepHistory([...spread, slow200])).toHaveLength(7);
    expect(keepHistory([...spread, slow2000])).toEqual(spread);
  });

  it('fewer than 4 windows it can judge: all kept', () => {
    const three = [at(10), at(10), at(100)];
    expect(keepHistory(three)).toEqual(three);
    // windows of fewer than 3 requests cannot be judged, and are kept: here 3 judgeable of 5
    const sparse = [at(10), at(10), at(100), at(100, 2), at(100, 2)];
    expect(keepHistory(sparse)).toEqual(sparse);
  });

  it('a window of fewer than 3 requests is kept even among enough judgeable ones', () => {
    const tiny = at(100, 2);
    expect(keepHistory([...times(5, () => at(10)), tiny])).toContain(tiny);
  });
});
