import { describe, expect, it } from 'vitest';
import { addTo, bucketOf } from '../../src/aggregate/histogram.js';
import { coarseBucket } from '../../src/aggregate/fold-timing.js';
import { emptyStats, type Stats } from '../../src/aggregate/stats.js';
import { judgeShift, judgeStratifiedCalls, judgeStratifiedShift } from '../../src/detect/detect.js';
import { callsByOperation, histogramsByOperation, judgeOperationCalls, judgeOperationLatency, servesOperations, testableOperations } from '../../src/detect/operations.js';
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
    expect(servesOperations(now, history)).toBe(true);
    // each request against its own operation's history: nothing moved
    expect(judgeStratifiedShift('up', histogramsByOperation(now), history.map(histogramsByOperation), 'recent', o)).toBeUndefined();
    expect(judgeOperationLatency(now, history, 'recent', o)).toEqual([]);
  });

  it('one operation three times slower is found stratified and on its own, though checkouts carry most of the time', () => {
    const now = node({ 'GET /home': { n: 50, ms: 30 }, 'POST /checkout': { n: 50, ms: 100 } });
    const perOp = judgeOperationLatency(now, history, 'recent', o);
    expect(perOp.map((e) => [e.operation, e.direction, e.impact])).toEqual([['GET /home', 'up', true]]);
    expect(perOp[0]!.count).toBe(50);
    const stratified = judgeStratifiedShift('up', histogramsByOperation(now), history.map(histogramsByOperation), 'recent', o)!;
    expect(stratified.impact).toBe(true);
    expect(stratified.test).toMatch(/each request against its own operation/);
  });

  it('stratified sign test, by hand: two operations at p0 = ½ each, 22 of 22 requests beyond their own medians', () => {
    // history: op a half at 1 ms, half at 4 ms; op b half at 8 ms, half at 32 ms; 10 windows of 10 each
    const win = (a: number[], b: number[]) => {
      const m = new Map<string, Map<string, number>>([['a', new Map()], ['b', new Map()]]);
      for (const v of a) addTo(m.get('a')!, bucketOf(v));
      for (const v of b) addTo(m.get('b')!, bucketOf(v));
      return m;
    };
    const past = Array.from({ length: 10 }, () => win([1, 1, 1, 1, 1, 4, 4, 4, 4, 4], [8, 8, 8, 8, 8, 32, 32, 32, 32, 32]));
    // the median bucket of each is its lower mode; beyond it: 50 of 100 (p0 = ½ for both, p̄ = ½)
    // every history window has exactly 5 + 5 beyond its thresholds: residuals 0, φ = 1
    const e = judgeStratifiedShift('up', win(Array(20).fill(4), [32, 32]), past, 'recent', o)!;
    expect(e.count).toBe(22);
    expect(e.sampleSize).toBe(22);
    expect(e.phi).toBe(1);
    // P(X ≥ 22 | 22, ½) = ½²², doubled for the two looks (p50 and p90; at p90 nothing is beyond the top bucket)
    expect(e.pValue / (2 * 0.5 ** 22)).toBeCloseTo(1, 9);
  });

  it('a node whose requests mostly name no operation, or that has only one, is judged as a whole', () => {
    const one = node({ a: { n: 50, ms: 10 } });
    expect(servesOperations(one, [one])).toBe(false);
    const few = node({ a: { n: 5, ms: 10 }, b: { n: 5, ms: 10 } });
    few.count = 30; // 20 requests without an operation
    expect(servesOperations(few, [])).toBe(false);
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

  it('more checkouts mean more payment calls per request overall, but not per checkout: no evidence', () => {
    const now = pair(10, 90, 0, 90);
    expect(judgeOperationCalls(now.edge, now.caller, past, 'recent', o)).toEqual([]);
    // μ = 10 home requests × 0 + 90 checkouts × 1 = 90 calls expected, 90 made
    expect(judgeStratifiedCalls(callsByOperation(now.edge, now.caller), past.map((p) => callsByOperation(p.edge, p.caller)), 'recent', o)).toBeUndefined();
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
    // stratified over both operations: the same μ = 50 × 0 + 50 × 1, the same 10 calls
    const whole = judgeStratifiedCalls(callsByOperation(now.edge, now.caller), past.map((x) => callsByOperation(x.edge, x.caller)), 'recent', o)!;
    expect(whole.direction).toBe('down');
    expect(whole.pValue / p).toBeCloseTo(1, 9);
  });
});
