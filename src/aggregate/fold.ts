import { FLAG_ERROR, FLAG_FAULT, FLAG_THROTTLE, type SlimDoc, type SlimEntity } from '../ingest/record.js';
import { bucketOf } from './histogram.js';
import { CLIENT_TYPE, REMOTE_TYPE, edgeId, nodeId } from './graph-ids.js';
import { windowOf } from './keys.js';

/**
 * Folds a batch of assembled segments into per-window deltas, in memory, so that each window costs one
 * Redis script per batch however many segments it holds.
 *
 * Counting rules (X-Ray's service graph, reference §1.11):
 * - a segment counts once for its node (type = origin, name) in the window of its start_time;
 * - a root segment (no parent_id) also counts on the edge client → node;
 * - each outermost downstream call (namespace remote/aws) counts on the edge caller → alias node, named
 *   after the subsegment (an inferred node; when the callee is traced, the alias is later resolved to
 *   the callee's own node through parent_id links);
 * - a segment's fault is "passed up" when one of its calls faulted or was throttled, else it is its own;
 * - own time is the duration minus the union of the time spent in calls.
 */

/** A claimable entity: a document or an embedded copy of a streamed subsegment. */
export interface Claimable {
  window: number;
  member: string;
}

export function memberOf(trace: string, id: string): string {
  return id + trace.slice(-8);
}

/** Everything whose counting must be de-duplicated, in a stable order, grouped by window. */
export function claimables(segments: readonly SlimDoc[], windowSeconds: number): Map<number, string[]> {
  const out = new Map<number, string[]>();
  const add = (w: number, m: string) => {
    const list = out.get(w);
    if (list) list.push(m);
    else out.set(w, [m]);
  };
  const walk = (trace: string, e: SlimEntity) => {
    if (!e.c) return;
    for (const c of e.c) {
      if (c.st) add(windowOf(c.s, windowSeconds), memberOf(trace, c.i));
      walk(trace, c);
    }
  };
  for (const s of segments) {
    add(windowOf(s.s, windowSeconds), memberOf(s.t, s.i));
    walk(s.t, s);
  }
  return out;
}

/** Increments and sets for the keys of one window, keyed by logical id (not yet Redis keys). */
export interface WindowDelta {
  nodes: Map<string, Map<string, number>>;
  edges: Map<string, Map<string, number>>;
  /** Traced calls waiting for their callee: sub id → edge id. */
  pendingCallers: Map<string, string>;
  /** Segments waiting for their caller: parent_id → node id. */
  pendingCallees: Map<string, string>;
  /** Links resolved inside the batch: `edgeId>calleeNodeId` → count. */
  links: Map<string, number>;
  /** Largest end time in the window's part of the batch. */
  maxEventTime: number;
}

export type Deltas = Map<number, WindowDelta>;

function windowDelta(d: Deltas, w: number): WindowDelta {
  let x = d.get(w);
  if (!x) {
    x = { nodes: new Map(), edges: new Map(), pendingCallers: new Map(), pendingCallees: new Map(), links: new Map(), maxEventTime: 0 };
    d.set(w, x);
  }
  return x;
}

function inc(m: Map<string, Map<string, number>>, key: string, field: string, n: number): Map<string, number> {
  let h = m.get(key);
  if (!h) {
    h = new Map();
    m.set(key, h);
  }
  h.set(field, (h.get(field) ?? 0) + n);
  return h;
}

/** Counter fields shared by nodes and edges. */
export const F = {
  count: 'c',
  ok: 'ok',
  error: 'er',
  throttle: 'th',
  fault: 'fa',
  latencyUs: 'lt',
  ownFault: 'of',
  passedFault: 'uf',
  ownTimeUs: 'ot',
  bucketPrefix: 'h',
} as const;

/** Adds one request with its outcome and latency to a stats hash. */
function addRequest(h: Map<string, Map<string, number>>, key: string, flags: number, seconds: number): Map<string, number> {
  const stats = inc(h, key, F.count, 1);
  if (flags & FLAG_FAULT) stats.set(F.fault, (stats.get(F.fault) ?? 0) + 1);
  else if (flags & (FLAG_ERROR | FLAG_THROTTLE)) {
    stats.set(F.error, (stats.get(F.error) ?? 0) + 1);
    if (flags & FLAG_THROTTLE) stats.set(F.throttle, (stats.get(F.throttle) ?? 0) + 1);
  } else stats.set(F.ok, (stats.get(F.ok) ?? 0) + 1);
  const us = Math.round(seconds * 1e6);
  stats.set(F.latencyUs, (stats.get(F.latencyUs) ?? 0) + us);
  const b = F.bucketPrefix + bucketOf(seconds * 1000);
  stats.set(b, (stats.get(b) ?? 0) + 1);
  return stats;
}

function aliasNode(call: SlimEntity): string {
  return call.ns === 'a' ? nodeId(call.ty ?? `AWS::${call.n}`, call.n) : nodeId(REMOTE_TYPE, call.n);
}

/** Length of the union of [s, e] intervals clipped to [lo, hi]. */
export function unionLength(intervals: Array<[number, number]>, lo: number, hi: number): number {
  const xs = intervals
    .map(([s, e]) => [Math.max(s, lo), Math.min(e, hi)] as [number, number])
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curS = -Infinity;
  let curE = -Infinity;
  for (const [s, e] of xs) {
    if (s > curE) {
      if (curE > curS) total += curE - curS;
      curS = s;
      curE = e;
    } else if (e > curE) curE = e;
  }
  if (curE > curS) total += curE - curS;
  return total;
}

interface CallerSub {
  edge: string;
  window: number;
}

/** Per-batch state of fold(), passed around instead of closures (this is the worker's hot loop). */
interface FoldState {
  deltas: Deltas;
  owned: ReadonlySet<string>;
  used: Set<string>;
  windowSeconds: number;
  callers: Map<string, CallerSub>;
}

/** True the first time an owned member is met in this batch: a member in a batch twice counts once. */
function take(st: FoldState, member: string): boolean {
  if (!st.owned.has(member) || st.used.has(member)) return false;
  st.used.add(member);
  return true;
}

/**
 * Walks a segment's subsegments, counting its outermost calls on edges. `counting` is false inside a
 * resent segment, until a streamed subsegment this batch owns.
 */
function walkCalls(st: FoldState, trace: string, node: string, e: SlimEntity, inCall: boolean, counting: boolean, calls: SlimEntity[]): void {
  const children = e.c;
  if (!children) return;
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    let counts = counting;
    if (c.st) {
      if (!take(st, memberOf(trace, c.i))) {
        if (c.ns && !inCall) calls.push(c); // counted already, but still explains the fault and the time
        continue;
      }
      counts = true;
    }
    if (c.ns && !inCall) {
      calls.push(c);
      if (counts) {
        const cw = windowOf(c.s, st.windowSeconds);
        const d = windowDelta(st.deltas, cw);
        const edge = edgeId(node, aliasNode(c));
        addRequest(d.edges, edge, c.f ?? 0, c.e - c.s);
        if (c.e > d.maxEventTime) d.maxEventTime = c.e;
        if (c.tr) st.callers.set(`${trace}/${c.i}`, { edge, window: cw });
      }
      walkCalls(st, trace, node, c, true, counts, calls);
    } else walkCalls(st, trace, node, c, inCall, counts, calls);
  }
}

/**
 * @param owned members this batch may count (the claim's answer); a member not in it is a duplicate.
 */
export function fold(segments: readonly SlimDoc[], owned: ReadonlySet<string>, windowSeconds: number): Deltas {
  const st: FoldState = { deltas: new Map(), owned, used: new Set(), windowSeconds, callers: new Map() };
  const callees: Array<{ trace: string; parent: string; node: string; window: number }> = [];

  for (const seg of segments) {
    const node = nodeId(seg.ty ?? '', seg.n);
    const w = windowOf(seg.s, windowSeconds);
    const segOwned = take(st, memberOf(seg.t, seg.i));
    const calls: SlimEntity[] = [];
    walkCalls(st, seg.t, node, seg, false, segOwned, calls);
    if (!segOwned) continue;

    const d = windowDelta(st.deltas, w);
    if (seg.e > d.maxEventTime) d.maxEventTime = seg.e;
    const flags = seg.f ?? 0;
    const duration = seg.e - seg.s;
    const stats = addRequest(d.nodes, node, flags, duration);
    if (flags & FLAG_FAULT) {
      let passed = false;
      // a fault after a call that faulted or was throttled is passed up from downstream
      for (const c of calls) if ((c.f ?? 0) & (FLAG_FAULT | FLAG_THROTTLE)) passed = true;
      const f = passed ? F.passedFault : F.ownFault;
      stats.set(f, (stats.get(f) ?? 0) + 1);
    }
    const waiting = calls.length ? unionLength(calls.map((c) => [c.s, c.e]), seg.s, seg.e) : 0;
    stats.set(F.ownTimeUs, (stats.get(F.ownTimeUs) ?? 0) + Math.round((duration - waiting) * 1e6));
    if (seg.p) callees.push({ trace: seg.t, parent: seg.p, node, window: w });
    else addRequest(d.edges, edgeId(nodeId(CLIENT_TYPE, seg.n), node), flags, duration);
  }

  // Links between a traced call and its callee's segment, matched here when both are in the batch.
  for (const c of callees) {
    const key = `${c.trace}/${c.parent}`;
    const caller = st.callers.get(key);
    if (caller) {
      const d = windowDelta(st.deltas, caller.window);
      const link = `${caller.edge}>${c.node}`;
      d.links.set(link, (d.links.get(link) ?? 0) + 1);
      st.callers.delete(key);
    } else windowDelta(st.deltas, c.window).pendingCallees.set(c.parent, c.node);
  }
  for (const [key, caller] of st.callers) {
    windowDelta(st.deltas, caller.window).pendingCallers.set(key.slice(key.indexOf('/') + 1), caller.edge);
  }
  return st.deltas;
}
