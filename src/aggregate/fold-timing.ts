import { FLAG_FAULT, FLAG_THROTTLE, type SlimDoc, type SlimEntity } from '../ingest/record.js';
import { bucketIndex, bucketName } from './histogram.js';
import { CLIENT_TYPE, REMOTE_TYPE, edgeId, nodeId } from './graph-ids.js';
import { callsUnionLength, memberAt, type Deltas } from './fold.js';
import { windowOf } from './keys.js';
import { matchCallees } from './link-match.js';

/**
 * Where time goes, as histograms a detector can judge without being misled by the operation mix:
 *
 * - a node's **own time** (`o<bucket>` on the node): its duration minus the time it waited on calls, each
 *   call as the caller saw it (below). CPU starvation and slow code show here and nowhere else.
 * - an edge's **gap** (`g<bucket>` on the caller → callee edge): the caller's view of a call minus the
 *   callee's own view of it: the network, a proxy, a queue or a starved client in between. A network
 *   delay lives here and nowhere else.
 *
 * The caller's view of a call is the call's subsegment, or the subsegment that wraps only it (a client
 * span around the remote hop, as OpenTelemetry-converted traces have). The callee's view is its own
 * segment (when it is in the same batch), or the remote subsegment when a wrapper holds it (then the
 * remote subsegment carries the callee's timing). A negative gap (the caller stopped waiting before the
 * callee finished: a timeout) counts in the zero bucket. Both histograms use buckets eight times coarser
 * than the response time's (±9 %, `coarseBucket`): they are judged against ratios of 1.5, and a window
 * stays small (bench:ingest's bytes per service-window).
 *
 * It also counts the requests (and calls) that start in the second half of their window, with their
 * faults and throttles (`c2`, `f2`, `t2`): whether a rise in a rate fills the window or is a blip
 * inside it.
 *
 * And, for segments that name their operation (`SlimDoc.u`: method and URL path), per operation: its
 * requests and their response times on the node (`@<op>|c`, `@<op>|<bucket>`, in buckets eight times
 * coarser than the node's own, ±9 %, to keep a window small), and on each call edge the calls those
 * requests made (`@<op>|c`): latency and call structure judged per operation, so that a shift in the
 * mix is not an incident.
 *
 * Separate from fold() so that the counting rules stay as they are; it counts exactly the segments fold()
 * counts (owned, once per batch), and its fields are applied with the same script.
 */
export const TIMING_FIELDS = { ownBucketPrefix: 'o', gapBucketPrefix: 'g', lateCount: 'c2', lateFault: 'f2', lateThrottle: 't2', operationPrefix: '@', operationCount: 'c' } as const;

/** Field of an operation's counter or bucket: `@<op>|<part>` (operation.ts keeps '|' out of names). */
export function operationField(op: string, part: string): string {
  return `${TIMING_FIELDS.operationPrefix}${op}|${part}`;
}

/** A latency's bucket, eight times coarser than the histogram's (named by the scale-5 bucket at its middle). */
export function coarseBucket(seconds: number): string {
  return bucketName(coarseIndex(seconds));
}

/** coarseBucket's index (of the scale-5 bucket at the middle of the coarse one). */
function coarseIndex(seconds: number): number {
  const i = bucketIndex(seconds * 1000);
  return i === -Infinity ? i : Math.floor(i / 8) * 8 + 4;
}

interface Call {
  call: SlimEntity;
  /** the wrapper, or the call itself */
  view: SlimEntity;
  wrapped: boolean;
}

/** Outermost calls of a segment, each with the entity that is the caller's view of it. */
function outermostCalls(e: SlimEntity, isDoc: boolean, out: Call[]): void {
  const children = e.c;
  if (!children) return;
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    if (c.ns) {
      const wrapped = !isDoc && !e.ns && children.length === 1;
      out.push({ call: c, view: wrapped ? e : c, wrapped });
    } else outermostCalls(c, false, out);
  }
}

/** The calls' caller views, for callsUnionLength (reused: one segment at a time). */
const views: SlimEntity[] = [];

/** Length of the union of the calls' caller views clipped to [lo, hi]. */
function unionLength(calls: readonly Call[], lo: number, hi: number): number {
  views.length = 0;
  for (let i = 0; i < calls.length; i++) views.push(calls[i]!.view);
  return callsUnionLength(views, views.length, lo, hi);
}

function inc(fields: Map<string, number>, f: string): void {
  fields.set(f, (fields.get(f) ?? 0) + 1);
}

/** Field names by prefix and bucket index, shared by every batch (bounded). */
const bucketFields = new Map<string, Map<number, string>>();

function bucketField(prefix: string, index: number): string {
  let byIndex = bucketFields.get(prefix);
  if (!byIndex) bucketFields.set(prefix, (byIndex = new Map()));
  let f = byIndex.get(index);
  if (f === undefined) {
    f = prefix + bucketName(index);
    if (byIndex.size < 4096) byIndex.set(index, f);
  }
  return f;
}

/** Own time and gaps in coarse buckets too: they are judged against ratios of 1.5, not read as percentiles. */
function add(fields: Map<string, number>, prefix: string, seconds: number): void {
  inc(fields, bucketField(prefix, coarseIndex(seconds)));
}

/** An operation's field names: its counter, and its coarse buckets by index (bounded). */
interface OperationFields {
  count: string;
  buckets: Map<number, string>;
}
const operationFields = new Map<string, OperationFields>();

function fieldsOf(op: string): OperationFields {
  let f = operationFields.get(op);
  if (!f) {
    if (operationFields.size > 10_000) operationFields.clear();
    operationFields.set(op, (f = { count: operationField(op, TIMING_FIELDS.operationCount), buckets: new Map() }));
  }
  return f;
}

function operationBucket(f: OperationFields, op: string, seconds: number): string {
  const coarse = coarseIndex(seconds);
  let name = f.buckets.get(coarse);
  if (name === undefined) f.buckets.set(coarse, (name = operationField(op, bucketName(coarse))));
  return name;
}

/** Node and edge ids met in a batch, built once each. */
class Ids {
  private readonly nodes = new Map<string, Map<string, string>>();
  private readonly edges = new Map<string, Map<string, string>>();

  node(type: string, name: string): string {
    let byName = this.nodes.get(type);
    if (!byName) this.nodes.set(type, (byName = new Map()));
    let id = byName.get(name);
    if (id === undefined) byName.set(name, (id = nodeId(type, name)));
    return id;
  }

  edge(from: string, to: string): string {
    let byTo = this.edges.get(from);
    if (!byTo) this.edges.set(from, (byTo = new Map()));
    let id = byTo.get(to);
    if (id === undefined) byTo.set(to, (id = edgeId(from, to)));
    return id;
  }
}

/** Counts a request that starts in the second half of its window, with its fault or throttle. */
function late(fields: Map<string, number>, e: SlimEntity, window: number, windowSeconds: number): void {
  if (e.s - window < windowSeconds / 2) return;
  inc(fields, TIMING_FIELDS.lateCount);
  const f = e.f ?? 0;
  if (f & FLAG_FAULT) inc(fields, TIMING_FIELDS.lateFault);
  else if (f & FLAG_THROTTLE) inc(fields, TIMING_FIELDS.lateThrottle);
}

/**
 * Adds own-time and gap histograms to the deltas fold() made of the same batch (same `owned`): only to
 * windows and keys fold() created, which exist for every counted segment and call.
 */
export function foldTiming(segments: readonly SlimDoc[], owned: ReadonlySet<string>, windowSeconds: number, deltas: Deltas): void {
  const used = new Set<string>();
  const ids = new Ids();
  /** calls a callee in the batch may answer, by trace + id: the gap of an unwrapped one needs the
   * callee's segment, and an untraced remote one is linked here (fold() links traced calls) */
  const open = new Map<string, { edge: string; window: number; seconds: number; gap: boolean; link: boolean }>();
  /** counted segments that name a caller: (segment, its parent, node id, window) */
  const callees: Array<{ seg: SlimDoc; parent: string; node: string; window: number }> = [];
  const calls: Call[] = [];
  for (let k = 0; k < segments.length; k++) {
    const seg = segments[k]!;
    if (seg.k !== 's') continue;
    const member = memberAt(segments, k);
    if (!owned.has(member) || used.has(member)) continue;
    used.add(member);
    const w = windowOf(seg.s, windowSeconds);
    const delta = deltas.get(w);
    const from = ids.node(seg.ty ?? '', seg.n);
    const node = delta?.nodes.get(from);
    if (!node) continue;
    calls.length = 0;
    outermostCalls(seg, true, calls);
    add(node, TIMING_FIELDS.ownBucketPrefix, seg.e - seg.s - (calls.length ? unionLength(calls, seg.s, seg.e) : 0));
    late(node, seg, w, windowSeconds);
    const op = seg.u;
    const opFields = op === undefined ? undefined : fieldsOf(op);
    if (opFields) {
      inc(node, opFields.count);
      inc(node, operationBucket(opFields, op!, seg.e - seg.s));
    }
    if (!seg.p) {
      const client = delta!.edges.get(ids.edge(ids.node(CLIENT_TYPE, seg.n), from));
      if (client) late(client, seg, w, windowSeconds);
    } else callees.push({ seg, parent: seg.p, node: from, window: w });
    for (let i = 0; i < calls.length; i++) {
      const { call, view, wrapped } = calls[i]!;
      if (call.st) continue; // streamed: counted (or not) with its own document
      const cw = windowOf(call.s, windowSeconds);
      const alias = call.ns === 'a' ? ids.node(call.ty ?? `AWS::${call.n}`, call.n) : ids.node(REMOTE_TYPE, call.n);
      const edge = ids.edge(from, alias);
      const fields = deltas.get(cw)?.edges.get(edge);
      if (!fields) continue;
      late(fields, call, cw, windowSeconds);
      if (opFields) inc(fields, opFields.count);
      if (wrapped) add(fields, TIMING_FIELDS.gapBucketPrefix, Math.max(0, view.e - view.s - (call.e - call.s)));
      const link = !call.tr && call.ns === 'r';
      if (link || (!wrapped && call.tr)) open.set(`${seg.t}/${call.i}`, { edge, window: cw, seconds: view.e - view.s, gap: !wrapped, link });
    }
  }
  if (!open.size) return;
  const callerOf = (callee: (typeof callees)[number]) => {
    const key = `${callee.seg.t}/${callee.parent}`;
    const c = open.get(key);
    if (c) open.delete(key);
    return c;
  };
  matchCallees(callees, callerOf, (c, { seg, node, window }, link) => {
    const d = deltas.get(c.window);
    if (c.gap) {
      const fields = d?.edges.get(c.edge);
      if (fields) add(fields, TIMING_FIELDS.gapBucketPrefix, Math.max(0, c.seconds - (seg.e - seg.s)));
    }
    // X-Ray links a callee to any call by parent_id: a remote call not marked traced (converted traces,
    // other producers) is linked when its callee is in the same batch, where fold() left the callee
    // waiting. It is not left waiting in Redis itself: an untraced external call would wait forever.
    const pending = deltas.get(window)?.pendingCallees;
    if (c.link && d && pending?.get(seg.p!) === node) {
      pending.delete(seg.p!);
      d.links.set(link, (d.links.get(link) ?? 0) + 1);
    }
  });
}
