import { FLAG_ERROR, FLAG_FAULT, FLAG_THROTTLE, type SlimDoc, type SlimEntity } from '../ingest/record.js';
import { bucketIndex, bucketName } from './histogram.js';
import { CLIENT_TYPE, REMOTE_TYPE, edgeId, nodeId } from './graph-ids.js';
import { windowOf } from './keys.js';
import { LinkIds, matchCallees } from './link-match.js';

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

/**
 * The members claimables() built for a batch's segments, by segment index, so that fold() on the same
 * batch does not build (and hash) the same strings again. Each is used only where the segment's id and
 * trace are still those it was built from; anything else is built afresh.
 */
interface SegmentMembers {
  ids: string[];
  traces: string[];
  members: string[];
}
const segmentMembers = new WeakMap<readonly SlimDoc[], SegmentMembers>();

function addStreamed(out: Map<number, string[]>, trace: string, e: SlimEntity, windowSeconds: number): void {
  const children = e.c;
  if (!children) return;
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    if (c.st) {
      const w = windowOf(c.s, windowSeconds);
      const list = out.get(w);
      if (list) list.push(memberOf(trace, c.i));
      else out.set(w, [memberOf(trace, c.i)]);
    }
    addStreamed(out, trace, c, windowSeconds);
  }
}

/** The member of segment `k` of a batch, from the memo claimables() left when it still applies. */
export function memberAt(segments: readonly SlimDoc[], k: number): string {
  const memo = segmentMembers.get(segments);
  const seg = segments[k]!;
  return memo && k < memo.ids.length && memo.ids[k] === seg.i && memo.traces[k] === seg.t ? memo.members[k]! : memberOf(seg.t, seg.i);
}

/** Everything whose counting must be de-duplicated, in a stable order, grouped by window. */
export function claimables(segments: readonly SlimDoc[], windowSeconds: number): Map<number, string[]> {
  const out = new Map<number, string[]>();
  const n = segments.length;
  const memo: SegmentMembers = { ids: new Array<string>(n), traces: new Array<string>(n), members: new Array<string>(n) };
  let lastWindow = NaN;
  let lastList: string[] = [];
  for (let k = 0; k < n; k++) {
    const s = segments[k]!;
    const trace = s.t;
    const id = s.i;
    const member = memberOf(trace, id);
    memo.ids[k] = id;
    memo.traces[k] = trace;
    memo.members[k] = member;
    const w = windowOf(s.s, windowSeconds);
    if (w !== lastWindow) {
      const list = out.get(w);
      if (list) lastList = list;
      else out.set(w, (lastList = []));
      lastWindow = w;
    }
    lastList.push(member); // (streamed subsegments only ever append to the lists in `out`)
    if (s.c) addStreamed(out, trace, s, windowSeconds);
  }
  segmentMembers.set(segments, memo);
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

/** Histogram field names (`h` + bucket) by bucket index, shared by every batch. */
const bucketFields = new Map<number, string>();

function bucketField(index: number): string {
  let f = bucketFields.get(index);
  if (f === undefined) {
    f = F.bucketPrefix + bucketName(index);
    if (bucketFields.size < 4096) bucketFields.set(index, f);
  }
  return f;
}

/**
 * The counters of one node or edge in one window while a batch is folded: plain numbers instead of a
 * Map of field names, kept in slots in the order the fields first appeared, which is the order of the
 * Map fold() returns (and so of the script's arguments). A slot number of -1: the field has not appeared.
 */
class Stats {
  fields: string[] = [];
  values: number[] = [];
  count = -1;
  ok = -1;
  error = -1;
  throttle = -1;
  fault = -1;
  latencyUs = -1;
  ownFault = -1;
  passedFault = -1;
  ownTimeUs = -1;
  /** bucket index → slot */
  buckets = new Map<number, number>();

  slot(field: string): number {
    this.values.push(0);
    return this.fields.push(field) - 1;
  }

  toMap(): Map<string, number> {
    const m = new Map<string, number>();
    const { fields, values } = this;
    for (let i = 0; i < fields.length; i++) m.set(fields[i]!, values[i]!);
    return m;
  }
}

/** A window's delta, and the counters of its nodes and edges, turned into the delta's Maps at the end. */
class WindowState {
  readonly nodes = new Map<string, Stats>();
  readonly edges = new Map<string, Stats>();
  constructor(readonly delta: WindowDelta) {}
}

/** Adds one request with its outcome and latency to a stats hash. */
function addRequest(h: Map<string, Stats>, key: string, flags: number, seconds: number): Stats {
  let s = h.get(key);
  if (s === undefined) {
    s = new Stats();
    h.set(key, s);
  }
  const v = s.values;
  if (s.count < 0) s.count = s.slot(F.count);
  v[s.count]! += 1;
  if (flags & FLAG_FAULT) {
    if (s.fault < 0) s.fault = s.slot(F.fault);
    v[s.fault]! += 1;
  } else if (flags & (FLAG_ERROR | FLAG_THROTTLE)) {
    if (s.error < 0) s.error = s.slot(F.error);
    v[s.error]! += 1;
    if (flags & FLAG_THROTTLE) {
      if (s.throttle < 0) s.throttle = s.slot(F.throttle);
      v[s.throttle]! += 1;
    }
  } else {
    if (s.ok < 0) s.ok = s.slot(F.ok);
    v[s.ok]! += 1;
  }
  if (s.latencyUs < 0) s.latencyUs = s.slot(F.latencyUs);
  v[s.latencyUs]! += Math.round(seconds * 1e6);
  const b = bucketIndex(seconds * 1000);
  let bs = s.buckets.get(b);
  if (bs === undefined) {
    bs = s.slot(bucketField(b));
    s.buckets.set(b, bs);
  }
  v[bs]! += 1;
  return s;
}

const starts: number[] = [];
const ends: number[] = [];

/** Length of the union of the first n calls' [s, e] intervals clipped to [lo, hi], without building the intervals. */
export function callsUnionLength(calls: readonly SlimEntity[], n: number, lo: number, hi: number): number {
  if (n === 1) {
    const s = Math.max(calls[0]!.s, lo);
    const e = Math.min(calls[0]!.e, hi);
    return e > s ? e - s : 0;
  }
  // clipped non-empty intervals, insertion-sorted by start (stable, as Array.prototype.sort)
  let m = 0;
  for (let i = 0; i < n; i++) {
    const s = Math.max(calls[i]!.s, lo);
    const e = Math.min(calls[i]!.e, hi);
    if (!(e > s)) continue;
    let j = m++;
    while (j > 0 && starts[j - 1]! - s > 0) {
      starts[j] = starts[j - 1]!;
      ends[j] = ends[j - 1]!;
      j--;
    }
    starts[j] = s;
    ends[j] = e;
  }
  let total = 0;
  let curS = -Infinity;
  let curE = -Infinity;
  for (let i = 0; i < m; i++) {
    const s = starts[i]!;
    const e = ends[i]!;
    if (s > curE) {
      if (curE > curS) total += curE - curS;
      curS = s;
      curE = e;
    } else if (e > curE) curE = e;
  }
  if (curE > curS) total += curE - curS;
  return total;
}

/** An edge from a node to the alias node of a call, met in the batch. */
interface EdgeEntry {
  id: string;
}

/** A node met in the batch: its id, and the edges from it, computed once per batch. */
interface NodeEntry {
  id: string;
  /** edge to the client of a root segment of this node */
  clientEdge: string | undefined;
  /** alias node id → edge */
  edges: Map<string, EdgeEntry>;
}

interface CallerSub {
  /** edge id */
  edge: string;
  window: number;
}

/**
 * A traced call waiting for its callee (a segment with parent_id = its id, in its trace). Callers are
 * found by id, then trace, instead of by a `trace/id` string built for each: the same thing as long
 * as no trace id holds a '/' (fold() falls back to the strings for a batch where one does).
 */
class Caller implements CallerSub {
  matched = false;
  constructor(
    readonly trace: string,
    readonly id: string,
    public edge: string,
    public window: number,
    /** another caller with the same id, in another trace */
    readonly next: Caller | undefined,
  ) {}
}

interface Callee {
  trace: string;
  parent: string;
  /** node id */
  node: string;
  window: number;
}

/** Per-batch state of fold(), passed around instead of closures (this is the worker's hot loop). */
class FoldState {
  readonly deltas: Deltas = new Map();
  readonly windows = new Map<number, WindowState>();
  readonly used = new Set<string>();
  /** traced calls by `trace/id`: only when some trace id holds a '/' */
  readonly callers = new Map<string, CallerSub>();
  /** traced calls by id, and in the order first met (the order of `callers`) */
  readonly callersById = new Map<string, Caller>();
  readonly callerList: Caller[] = [];
  /** outermost calls of the current segment (reused: one segment at a time) */
  readonly calls: SlimEntity[] = [];
  /** node ids by type, then name (nodeId() once per batch) */
  private readonly ids = new Map<string, Map<string, string>>();
  /** node entries by type, then name */
  private readonly entries = new Map<string, Map<string, NodeEntry>>();
  private lastWindow = NaN;
  private lastState: WindowState | undefined = undefined;

  constructor(
    readonly owned: ReadonlySet<string>,
    readonly windowSeconds: number,
    readonly byString: boolean,
  ) {}

  /** The window's state, creating its delta (in `deltas`, in order of first use) when new. */
  window(w: number): WindowState {
    if (w === this.lastWindow) return this.lastState!;
    let x = this.windows.get(w);
    if (x === undefined) {
      const delta: WindowDelta = { nodes: new Map(), edges: new Map(), pendingCallers: new Map(), pendingCallees: new Map(), links: new Map(), maxEventTime: 0 };
      this.deltas.set(w, delta);
      x = new WindowState(delta);
      this.windows.set(w, x);
    }
    this.lastWindow = w;
    this.lastState = x;
    return x;
  }

  id(type: string, name: string): string {
    let byName = this.ids.get(type);
    if (byName === undefined) this.ids.set(type, (byName = new Map()));
    let id = byName.get(name);
    if (id === undefined) byName.set(name, (id = nodeId(type, name)));
    return id;
  }

  node(type: string, name: string): NodeEntry {
    let byName = this.entries.get(type);
    if (byName === undefined) this.entries.set(type, (byName = new Map()));
    let e = byName.get(name);
    if (e === undefined) byName.set(name, (e = { id: this.id(type, name), clientEdge: undefined, edges: new Map() }));
    return e;
  }

  /** Edge from the node to the alias node of a downstream call. */
  callEdge(from: NodeEntry, call: SlimEntity): EdgeEntry {
    const alias = call.ns === 'a' ? this.id(call.ty ?? `AWS::${call.n}`, call.n) : this.id(REMOTE_TYPE, call.n);
    let edge = from.edges.get(alias);
    if (edge === undefined) from.edges.set(alias, (edge = { id: edgeId(from.id, alias) }));
    return edge;
  }

  /** Remembers a traced call (the last one met wins, in the place of the first). */
  addCaller(trace: string, id: string, edge: string, window: number): void {
    if (this.byString) {
      this.callers.set(`${trace}/${id}`, { edge, window });
      return;
    }
    const first = this.callersById.get(id);
    for (let c = first; c !== undefined; c = c.next) {
      if (c.trace === trace) {
        c.edge = edge;
        c.window = window;
        return;
      }
    }
    const c = new Caller(trace, id, edge, window, first);
    this.callersById.set(id, c);
    this.callerList.push(c);
  }

  /** The traced call a segment answers, if still waiting; it waits no more. */
  matchCaller(trace: string, parent: string): CallerSub | undefined {
    if (this.byString) {
      const key = `${trace}/${parent}`;
      const caller = this.callers.get(key);
      if (caller) this.callers.delete(key);
      return caller;
    }
    for (let c = this.callersById.get(parent); c !== undefined; c = c.next) {
      if (c.trace === trace) {
        if (c.matched) return undefined;
        c.matched = true;
        return c;
      }
    }
    return undefined;
  }

  /** Traced calls still waiting for their callee, by sub id. */
  waitingCallers(): void {
    if (this.byString) {
      for (const [key, caller] of this.callers) {
        this.window(caller.window).delta.pendingCallers.set(key.slice(key.indexOf('/') + 1), caller.edge);
      }
      return;
    }
    const list = this.callerList;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (!c.matched) this.window(c.window).delta.pendingCallers.set(c.id, c.edge);
    }
  }

  /** Edge client → node of a root segment (the client is named after the node). */
  clientEdge(node: NodeEntry, name: string): string {
    return (node.clientEdge ??= edgeId(this.id(CLIENT_TYPE, name), node.id));
  }

  /** True the first time an owned member is met in this batch: a member in a batch twice counts once. */
  take(member: string): boolean {
    if (!this.owned.has(member) || this.used.has(member)) return false;
    this.used.add(member);
    return true;
  }

  /** Writes the counters into the deltas' Maps. */
  finish(): void {
    for (const x of this.windows.values()) {
      const { nodes, edges } = x.delta;
      for (const [id, s] of x.nodes) nodes.set(id, s.toMap());
      for (const [id, s] of x.edges) edges.set(id, s.toMap());
    }
  }
}

/**
 * Walks a segment's subsegments, counting its outermost calls on edges. `counting` is false inside a
 * resent segment, until a streamed subsegment this batch owns.
 */
function walkCalls(st: FoldState, trace: string, node: NodeEntry, e: SlimEntity, inCall: boolean, counting: boolean): void {
  const children = e.c;
  if (!children) return;
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    let counts = counting;
    if (c.st) {
      if (!st.take(memberOf(trace, c.i))) {
        if (c.ns && !inCall) st.calls.push(c); // counted already, but still explains the fault and the time
        continue;
      }
      counts = true;
    }
    if (c.ns && !inCall) {
      st.calls.push(c);
      if (counts) {
        const cw = windowOf(c.s, st.windowSeconds);
        const x = st.window(cw);
        const edge = st.callEdge(node, c);
        addRequest(x.edges, edge.id, c.f ?? 0, c.e - c.s);
        if (c.e > x.delta.maxEventTime) x.delta.maxEventTime = c.e;
        if (c.tr) st.addCaller(trace, c.i, edge.id, cw);
      }
      walkCalls(st, trace, node, c, true, counts);
    } else walkCalls(st, trace, node, c, inCall, counts);
  }
}

/**
 * @param owned members this batch may count (the claim's answer); a member not in it is a duplicate.
 */
export function fold(segments: readonly SlimDoc[], owned: ReadonlySet<string>, windowSeconds: number): Deltas {
  // callers are keyed `trace/id`, cut at the first '/' for pendingCallers: with a '/' in a trace id,
  // only those strings say which calls are the same and what their id is
  let byString = false;
  for (let k = 0; k < segments.length; k++) {
    if (segments[k]!.t.indexOf('/') >= 0) {
      byString = true;
      break;
    }
  }
  const st = new FoldState(owned, windowSeconds, byString);
  const calls = st.calls;
  const callees: Callee[] = [];
  const memo = segmentMembers.get(segments);
  const memoSize = memo ? memo.ids.length : 0;

  for (let k = 0; k < segments.length; k++) {
    const seg = segments[k]!;
    const trace = seg.t;
    const node = st.node(seg.ty ?? '', seg.n);
    const w = windowOf(seg.s, windowSeconds);
    const member = k < memoSize && memo!.ids[k] === seg.i && memo!.traces[k] === trace ? memo!.members[k]! : memberOf(trace, seg.i);
    const segOwned = st.take(member);
    calls.length = 0;
    walkCalls(st, trace, node, seg, false, segOwned);
    if (!segOwned) continue;

    const x = st.window(w);
    const d = x.delta;
    if (seg.e > d.maxEventTime) d.maxEventTime = seg.e;
    const flags = seg.f ?? 0;
    const duration = seg.e - seg.s;
    const stats = addRequest(x.nodes, node.id, flags, duration);
    const n = calls.length;
    if (flags & FLAG_FAULT) {
      let passed = false;
      // a fault after a call that faulted or was throttled is passed up from downstream
      for (let i = 0; i < n; i++) if ((calls[i]!.f ?? 0) & (FLAG_FAULT | FLAG_THROTTLE)) passed = true;
      if (passed) {
        if (stats.passedFault < 0) stats.passedFault = stats.slot(F.passedFault);
        stats.values[stats.passedFault]! += 1;
      } else {
        if (stats.ownFault < 0) stats.ownFault = stats.slot(F.ownFault);
        stats.values[stats.ownFault]! += 1;
      }
    }
    const waiting = n ? callsUnionLength(calls, n, seg.s, seg.e) : 0;
    if (stats.ownTimeUs < 0) stats.ownTimeUs = stats.slot(F.ownTimeUs);
    stats.values[stats.ownTimeUs]! += Math.round((duration - waiting) * 1e6);
    if (seg.p) callees.push({ trace, parent: seg.p, node: node.id, window: w });
    else addRequest(x.edges, st.clientEdge(node, seg.n), flags, duration);
  }
  calls.length = 0;

  // Links between a traced call and its callee's segment, matched here when both are in the batch (a
  // call answers one segment: matchCaller takes it); the rest wait in Redis for the window's close.
  matchCallees(
    callees,
    (c) => st.matchCaller(c.trace, c.parent),
    (caller, _c, link) => {
      const d = st.window(caller.window).delta;
      d.links.set(link, (d.links.get(link) ?? 0) + 1);
    },
    (c) => st.window(c.window).delta.pendingCallees.set(c.parent, c.node),
    new LinkIds(),
  );
  st.waitingCallers();
  st.finish();
  return st.deltas;
}
