import type { Stats } from '../aggregate/stats.js';
import type { Histogram } from '../aggregate/histogram.js';
import { judgeCalls, judgeShift, type Count, type Evidence } from './detect.js';
import type { DetectOptions } from './options.js';

/**
 * Latency and call structure per operation (a segment's method and URL path, fold-timing.ts), where a
 * service serves several: the node's own tests are stratified by operation (detect.ts
 * judgeStratifiedShift, judgeStratifiedCalls), so a shift in the mix is not an incident; and each
 * operation with enough requests is also judged on its own history, so the evidence says which one
 * slowed and a slowdown of one is not averaged away among the others.
 */

/** Operations with enough requests in the window to be judged. */
export function testableOperations(st: Stats, o: DetectOptions): string[] {
  return [...st.operations].filter(([, x]) => x.count >= o.minLatencySamples).map(([op]) => op).sort();
}

const tag = (e: Evidence | undefined, op: string): Evidence | undefined => (e ? { ...e, operation: op, test: `${e.test}; operation ${op}` } : undefined);

/** Response time per operation, both ways, where the node serves two or more that can be judged. */
export function judgeOperationLatency(st: Stats, past: readonly Stats[], source: Evidence['baselineSource'], o: DetectOptions): Evidence[] {
  const out: Evidence[] = [];
  const ops = testableOperations(st, o);
  // one operation is the whole: the node's own tests judge it, in finer buckets
  if (ops.length < 2) return out;
  for (const op of ops) {
    const history = past.map((s) => s.operations.get(op)?.histogram).filter((h): h is Map<string, number> => h !== undefined && h.size > 0);
    if (history.length < o.minHistoryWindows) continue;
    const now = st.operations.get(op)!.histogram;
    for (const direction of ['up', 'down'] as const) {
      const e = tag(judgeShift('latencyMs', direction, now, history, source, o), op);
      if (e) out.push(e);
    }
  }
  return out;
}

/** Calls per request on an edge, per operation of the caller's requests (two or more judgeable). */
export function judgeOperationCalls(edge: Stats, caller: Stats, past: ReadonlyArray<{ edge: Stats; caller: Stats }>, source: Evidence['baselineSource'], o: DetectOptions): Evidence[] {
  const out: Evidence[] = [];
  const ops = testableOperations(caller, o);
  if (ops.length < 2) return out;
  for (const op of ops) {
    const history = past.map((p) => ({ k: p.edge.operations.get(op)?.count ?? 0, n: p.caller.operations.get(op)?.count ?? 0 })).filter((c) => c.n > 0);
    if (history.length < o.minHistoryWindows) continue;
    const e = tag(judgeCalls({ k: edge.operations.get(op)?.count ?? 0, n: caller.operations.get(op)!.count }, history, source, o), op);
    if (e) out.push(e);
  }
  return out;
}

/**
 * Does the node serve several operations that are judged each on its own: two or more seen in the
 * window or its history, and most of the window's requests naming theirs?
 */
export function servesOperations(st: Stats, past: readonly Stats[]): boolean {
  let named = 0;
  for (const x of st.operations.values()) named += x.count;
  if (named * 2 < st.count) return false;
  const ops = new Set(st.operations.keys());
  for (const p of past) for (const op of p.operations.keys()) ops.add(op);
  return ops.size >= 2;
}

/** A node's response-time histogram per operation. */
export const histogramsByOperation = (st: Stats): Map<string, Histogram> => new Map([...st.operations].map(([op, x]) => [op, x.histogram]));

/** Calls on an edge per operation of the caller's requests, with the caller's requests of each. */
export const callsByOperation = (edge: Stats, caller: Stats): Map<string, Count> => new Map([...caller.operations].map(([op, x]) => [op, { k: edge.operations.get(op)?.count ?? 0, n: x.count }]));
