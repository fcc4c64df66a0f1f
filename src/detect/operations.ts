import type { Stats } from '../aggregate/stats.js';
import { judgeCalls, judgeShift, type Evidence } from './detect.js';
import type { DetectOptions } from './options.js';

/**
 * Latency and call structure per operation (a segment's method and URL path, fold-timing.ts), where a
 * service serves several: a slowdown of one operation is judged on that operation's own history, not
 * averaged away among the others; and a change of the whole that no single operation shows is a shift
 * in the operation mix, which says where but is not an incident (its evidence loses `impact`).
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
 * Evidence about the whole of a node or an edge, where it serves several operations that could each be
 * judged: impact only when some operation changed the same way; otherwise a shift in the mix.
 */
export function unlessMix(whole: Evidence | undefined, perOperation: readonly Evidence[], operations: number): Evidence | undefined {
  if (!whole || !whole.impact || operations < 2) return whole;
  if (perOperation.some((e) => e.metric === whole.metric && e.direction === whole.direction && e.impact)) return whole;
  return { ...whole, impact: false, strong: false, test: `${whole.test}; no single operation changed so: a shift in the operation mix` };
}
