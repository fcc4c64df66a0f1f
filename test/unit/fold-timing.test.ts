import { describe, expect, it } from 'vitest';
import { claimables, fold, type Deltas } from '../../src/aggregate/fold.js';
import { coarseBucket, foldTiming } from '../../src/aggregate/fold-timing.js';
import { CLIENT_TYPE, REMOTE_TYPE, edgeId, nodeId } from '../../src/aggregate/graph-ids.js';
import { ZERO_BUCKET, bucketOf } from '../../src/aggregate/histogram.js';
import { statsFromHash, type Stats } from '../../src/aggregate/stats.js';
import { FLAG_ERROR, FLAG_FAULT, FLAG_THROTTLE, type SlimDoc, type SlimEntity } from '../../src/ingest/record.js';

/**
 * Where time goes, on hand-built batches: a node's own time (its duration minus the union of its calls
 * as it saw them), the gap on a call (the caller's view minus the callee's), and the requests, faults
 * and throttles of the window's second half. Each batch goes through fold() and then foldTiming() with
 * the members claimables() names (all owned unless a test says otherwise), and is read back as the
 * detector reads it (statsFromHash). Durations are chosen away from bucket edges, so a microsecond of
 * floating-point error cannot move them to the next bucket.
 */

const W = 60;
const T0 = 1_790_816_400; // a window start
const TRACE = '1-6720a000-0123456789abcdef01234567';
const TY = 'AWS::ECS::Container';
const A = nodeId(TY, 'A');
const B = nodeId(TY, 'B');

/** A segment of service `n` from T0 + s to T0 + e seconds. */
function seg(i: string, n: string, s: number, e: number, o: Partial<SlimDoc> = {}): SlimDoc {
  return { k: 's', t: TRACE, i, n, ty: TY, s: T0 + s, e: T0 + e, ...o };
}
/** A subsegment from T0 + s to T0 + e; a remote call when `ns` is given. */
function sub(i: string, n: string, s: number, e: number, o: Partial<SlimEntity> = {}): SlimEntity {
  return { i, n, s: T0 + s, e: T0 + e, ...o };
}
const call = (i: string, n: string, s: number, e: number, o: Partial<SlimEntity> = {}) => sub(i, n, s, e, { ns: 'r', ...o });

/** fold() then foldTiming() on one batch; `owned` defaults to every member claimables() names. */
function foldBatch(docs: SlimDoc[], owned?: Set<string>): Deltas {
  const own = owned ?? new Set([...claimables(docs, W).values()].flat());
  const deltas = fold(docs, own, W);
  foldTiming(docs, own, W, deltas);
  return deltas;
}

const read = (fields: Map<string, number> | undefined): Stats => statsFromHash(Object.fromEntries([...(fields ?? [])].map(([k, v]) => [k, String(v)])));
const nodeStats = (d: Deltas, nid: string, w = T0) => read(d.get(w)?.nodes.get(nid));
const edgeStats = (d: Deltas, from: string, to: string, w = T0) => read(d.get(w)?.edges.get(edgeId(from, to)));
/** Own time and gaps are kept in coarse buckets (fold-timing.ts coarseBucket). */
const one = (ms: number) => new Map([[coarseBucket(ms / 1000), 1]]);
const remote = (name: string) => nodeId(REMOTE_TYPE, name);

describe('own time', () => {
  it('is the duration minus the union of the calls: 200 ms with calls at 10–60 and 40–110 ms → 200 − 100 = 100 ms', () => {
    const d = foldBatch([
      seg('a1', 'A', 1, 1.2, {
        c: [
          call('c1', 'inventory', 1.01, 1.06),
          call('c2', 'payments', 1.04, 1.11),
          sub('l1', 'render', 1.15, 1.19), // local work is the node's own time
        ],
      }),
    ]);
    const st = nodeStats(d, A);
    expect(st.count).toBe(1);
    expect(st.ownHistogram).toEqual(one(100));
  });

  it('a wrapper subsegment holding exactly one remote call is the caller’s view of it: 200 − 100 = 100 ms, not 200 − 25', () => {
    // a client span 20–120 ms around the remote hop 30–55 ms (as OpenTelemetry-converted traces have)
    const d = foldBatch([seg('a1', 'A', 1, 1.2, { c: [sub('w1', 'GET payments', 1.02, 1.12, { c: [call('r1', 'payments', 1.03, 1.055)] })] })]);
    expect(nodeStats(d, A).ownHistogram).toEqual(one(100));
  });

  it('a subsegment holding a remote call and local work is no wrapper: the call itself is the view, 200 − 25 = 175 ms', () => {
    const d = foldBatch([seg('a1', 'A', 1, 1.2, { c: [sub('w2', 'work', 1.02, 1.12, { c: [call('r2', 'payments', 1.03, 1.055), sub('l2', 'parse', 1.06, 1.07)] })] })]);
    expect(nodeStats(d, A).ownHistogram).toEqual(one(175));
    expect(edgeStats(d, A, remote('payments')).gapHistogram).toEqual(new Map());
  });

  it('a segment with a single remote call is no wrapper either (it is the request): 100 − 50 = 50 ms, and no gap', () => {
    const d = foldBatch([seg('a1', 'A', 1, 1.1, { c: [call('c1', 'payments', 1.01, 1.06)] })]);
    expect(nodeStats(d, A).ownHistogram).toEqual(one(50));
    expect(edgeStats(d, A, remote('payments'))).toMatchObject({ count: 1, gapHistogram: new Map() });
  });
});

describe('gap: the caller’s view of a call minus the callee’s', () => {
  it('wrapped call: wrapper 100 ms − remote subsegment 25 ms = 75 ms, on the edge to the call’s node', () => {
    const d = foldBatch([seg('a1', 'A', 1, 1.2, { c: [sub('w1', 'GET payments', 1.02, 1.12, { c: [call('r1', 'payments', 1.03, 1.055)] })] })]);
    expect(edgeStats(d, A, remote('payments'))).toMatchObject({ count: 1, gapHistogram: one(75) });
  });

  it('unwrapped traced call with its callee’s segment in the batch: call 200 ms − callee segment 180 ms = 20 ms', () => {
    const caller = seg('a1', 'A', 1, 1.3, { c: [call('c1', 'B', 1.05, 1.25, { tr: 1 })] });
    const callee = seg('b1', 'B', 1.06, 1.24, { p: 'c1' });
    for (const docs of [[caller, callee], [callee, caller]]) {
      const d = foldBatch(docs);
      expect(edgeStats(d, A, remote('B')).gapHistogram).toEqual(one(20));
      // and each side's own time: A 300 − 200 = 100 ms, B (no calls) 180 ms
      expect(nodeStats(d, A).ownHistogram).toEqual(one(100));
      expect(nodeStats(d, B).ownHistogram).toEqual(one(180));
    }
  });

  it('a traced call whose callee segment is not in the batch: no gap', () => {
    const alone = foldBatch([seg('a1', 'A', 1, 1.3, { c: [call('c1', 'B', 1.05, 1.25, { tr: 1 })] })]);
    expect(edgeStats(alone, A, remote('B'))).toMatchObject({ count: 1, gapHistogram: new Map() });
  });

  it('a remote call not marked traced, answered in the batch: linked (as X-Ray links by parent_id) and its gap measured', () => {
    // call 200 ms, callee segment 180 ms: gap 20 ms
    const d = foldBatch([seg('a1', 'A', 1, 1.3, { c: [call('c1', 'B', 1.05, 1.25)] }), seg('b1', 'B', 1.06, 1.24, { p: 'c1' })]);
    expect(edgeStats(d, A, remote('B')).gapHistogram).toEqual(one(20));
    const delta = [...d.values()][0]!;
    // fold() left the callee waiting for a traced caller; the link is made here instead, and nothing waits
    expect([...delta.links]).toEqual([[`${edgeId(A, remote('B'))}>${nodeId(TY, 'B')}`, 1]]);
    expect(delta.pendingCallees.has('c1')).toBe(false);
    expect(delta.pendingCallers.has('c1')).toBe(false);
  });

  it('a negative gap (the caller stopped waiting first: a timeout) goes to the zero bucket', () => {
    // call 200 ms, callee segment 230 ms
    const d = foldBatch([seg('a1', 'A', 1, 1.3, { c: [call('c1', 'B', 1.05, 1.25, { tr: 1 })] }), seg('b1', 'B', 1.04, 1.27, { p: 'c1' })]);
    expect(edgeStats(d, A, remote('B')).gapHistogram).toEqual(new Map([[ZERO_BUCKET, 1]]));
  });
});

describe('second half of the window: c2, f2, t2', () => {
  it('counts requests starting at or after window start + W/2, with their faults and throttles; calls by their own start', () => {
    const d = foldBatch([
      // first half: a fault, with a call at 10.01 s
      seg('a1', 'A', 10, 10.1, { f: FLAG_FAULT, c: [call('c1', 'dep', 10.01, 10.05)] }),
      // 29.9 s: first half, but its call starts at 30.5 s, in the second
      seg('a5', 'A', 29.9, 30.6, { c: [call('c5', 'dep', 30.5, 30.55)] }),
      // exactly W/2: second half, a fault
      seg('a2', 'A', 30, 30.1, { f: FLAG_FAULT }),
      // a throttle (a 429 is an error too)
      seg('a3', 'A', 45, 45.1, { f: FLAG_ERROR | FLAG_THROTTLE }),
      // ok, with a call that faulted
      seg('a4', 'A', 50, 50.1, { c: [call('c4', 'dep', 50.01, 50.05, { f: FLAG_FAULT })] }),
      // not a root: counted on its node, not on the client edge
      seg('a6', 'A', 55, 55.1, { p: 'ffff0000ffff0000' }),
    ]);
    expect(nodeStats(d, A)).toMatchObject({ count: 6, fault: 2, throttle: 1, lateCount: 4, lateFault: 1, lateThrottle: 1 });
    expect(edgeStats(d, nodeId(CLIENT_TYPE, 'A'), A)).toMatchObject({ count: 5, lateCount: 3, lateFault: 1, lateThrottle: 1 });
    expect(edgeStats(d, A, remote('dep'))).toMatchObject({ count: 3, fault: 1, lateCount: 2, lateFault: 1, lateThrottle: 0 });
  });
});

describe('only what the batch owns', () => {
  it('a resent segment (not owned) adds no own time and no second-half count', () => {
    const mine = seg('a1', 'A', 40, 40.1);
    const resent = seg('b9', 'B', 41, 41.2);
    const all = [...claimables([mine, resent], W).values()].flat();
    const owned = new Set(all.filter((m) => m.startsWith('a1')));
    expect(owned.size).toBe(1);
    const d = foldBatch([mine, resent], owned);
    expect(nodeStats(d, A)).toMatchObject({ count: 1, lateCount: 1, ownHistogram: one(100) });
    expect(d.get(T0)!.nodes.has(B)).toBe(false);
    expect(nodeStats(d, B)).toMatchObject({ count: 0, lateCount: 0, ownHistogram: new Map() });
  });

  it('the same segment twice in a batch counts once', () => {
    const a = seg('a1', 'A', 40, 40.1, { c: [sub('w1', 'GET payments', 40.02, 40.07, { c: [call('r1', 'payments', 40.03, 40.055)] })] });
    const d = foldBatch([a, { ...a }]);
    // own time 100 − 50 = 50 ms, once; gap 50 − 25 = 25 ms, once
    expect(nodeStats(d, A)).toMatchObject({ count: 1, lateCount: 1, ownHistogram: one(50) });
    expect(edgeStats(d, A, remote('payments'))).toMatchObject({ count: 1, lateCount: 1, gapHistogram: one(25) });
  });
});
