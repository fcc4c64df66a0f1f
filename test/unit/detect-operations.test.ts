import { describe, expect, it } from 'vitest';
import { addTo, bucketOf } from '../../src/aggregate/histogram.js';
import { coarseBucket } from '../../src/aggregate/fold-timing.js';
import { emptyStats, type Stats } from '../../src/aggregate/stats.js';
import { judgeShift } from '../../src/detect/detect.js';
import { judgeOperationCalls, judgeOperationLatency, testableOperations, unlessMix } from '../../src/detect/operations.js';
import { defaultDetectOptions } from '../../src/detect/options.js';

const o = defaultDetectOptions;

/** A node's window: `n` requests of each operation at its latency (ms), spread ±5 % so buckets vary. */
function node(ops: Record<string, { n: number; ms: number }>): Stats {
  const s = emptyStats();
  for (const [op, { n, ms }] of Object.entries(ops)) {
    const x = { count: 0, histogram: new Map<string, number>() };
    for (let i = 0; i < n; i++) {
      const v = ms * (0.95 + (0.1 * i) / Math.max(n - 1, 1));
      s.count++;
      addTo(s.histogram, bucketOf(v));
      x.count++;
      addTo(x.histogram, coarseBucket(v / 1000));
    }
    s.operations.set(op, x);
  }
  return s;
}

const history = Array.from({ length: 30 }, () => node({ 'GET /home': { n: 50, ms: 10 }, 'POST /checkout': { n: 50, ms: 100 } }));

describe('latency per operation', () => {
  it('only operations with minLatencySamples requests are judged, and only where there are two of them', () => {
    expect(testableOperations(node({ a: { n: 5, ms: 1 }, b: { n: 4, ms: 1 } }), o)).toEqual(['a']);
    expect(judgeOperationLatency(node({ a: { n: 50, ms: 30 }, b: { n: 4, ms: 1 } }), history, 'recent', o)).toEqual([]);
  });

  it('a shift in the mix (90 % checkouts instead of 50 %) is not an incident: the whole slows, no operation does', () => {
    const now = node({ 'GET /home': { n: 10, ms: 10 }, 'POST /checkout': { n: 90, ms: 100 } });
    const whole = judgeShift('latencyMs', 'up', now.histogram, history.map((h) => h.histogram), 'recent', o);
    // judged as a whole, the median moves from the 10 ms mode to the 100 ms one: an impact
    expect(whole?.impact).toBe(true);
    const perOp = judgeOperationLatency(now, history, 'recent', o);
    expect(perOp).toEqual([]);
    const judged = unlessMix(whole, perOp, testableOperations(now, o).length)!;
    expect(judged.impact).toBe(false);
    expect(judged.strong).toBe(false);
    expect(judged.test).toMatch(/shift in the operation mix/);
  });

  it('one operation three times slower is found on its own, and keeps the whole an impact', () => {
    const now = node({ 'GET /home': { n: 50, ms: 30 }, 'POST /checkout': { n: 50, ms: 100 } });
    const perOp = judgeOperationLatency(now, history, 'recent', o);
    expect(perOp.map((e) => [e.operation, e.direction, e.impact])).toEqual([['GET /home', 'up', true]]);
    // every home request is beyond the history's p50 (and p90) of home requests: 50 of 50, against p0 ≤ 0.5
    expect(perOp[0]!.count).toBe(50);
    expect(perOp[0]!.sampleSize).toBe(50);
    const whole = judgeShift('latencyMs', 'up', now.histogram, history.map((h) => h.histogram), 'recent', o);
    if (whole) expect(unlessMix(whole, perOp, 2)).toBe(whole);
  });

  it('unlessMix leaves evidence alone for a node with one operation, or evidence that was not impact', () => {
    const e = judgeShift('latencyMs', 'up', node({ a: { n: 50, ms: 40 } }).histogram, Array.from({ length: 10 }, () => node({ a: { n: 50, ms: 10 } }).histogram), 'recent', o)!;
    expect(e.impact).toBe(true);
    expect(unlessMix(e, [], 1)).toBe(e);
    const minor = { ...e, impact: false };
    expect(unlessMix(minor, [], 3)).toBe(minor);
    expect(unlessMix(undefined, [], 3)).toBeUndefined();
  });
});

describe('calls per request per operation of the caller', () => {
  /** caller window: requests per operation; edge: calls per operation */
  const pair = (home: number, checkout: number, homeCalls: number, checkoutCalls: number) => {
    const caller = node({ 'GET /home': { n: home, ms: 10 }, 'POST /checkout': { n: checkout, ms: 100 } });
    const edge = emptyStats();
    edge.count = homeCalls + checkoutCalls;
    edge.operations.set('GET /home', { count: homeCalls, histogram: new Map() });
    edge.operations.set('POST /checkout', { count: checkoutCalls, histogram: new Map() });
    return { caller, edge };
  };
  // every checkout calls the payment service once, a home page never does
  const past = Array.from({ length: 30 }, () => pair(50, 50, 0, 50));

  it('more checkouts mean more payment calls per request overall, but not per checkout: no evidence per operation', () => {
    const now = pair(10, 90, 0, 90);
    expect(judgeOperationCalls(now.edge, now.caller, past, 'recent', o)).toEqual([]);
  });

  it('checkouts that stop calling payment are found on the checkout operation', () => {
    const now = pair(50, 50, 0, 10);
    const e = judgeOperationCalls(now.edge, now.caller, past, 'recent', o);
    expect(e.map((x) => [x.operation, x.direction, x.metric])).toEqual([['POST /checkout', 'down', 'callsPerRequest']]);
    // 10 calls where 50 requests × 1 call were expected; the history is exact (φ = 1): P(X ≤ 10 | μ = 50)
    let p = 0;
    let term = Math.exp(-50);
    for (let k = 0; k <= 10; k++) {
      if (k > 0) term *= 50 / k;
      p += term;
    }
    expect(e[0]!.pValue).toBeCloseTo(p, 20);
    expect(e[0]!.pValue / p).toBeCloseTo(1, 9);
  });
});
