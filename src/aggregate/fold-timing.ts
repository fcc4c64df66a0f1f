import { FLAG_FAULT, FLAG_THROTTLE, type SlimDoc, type SlimEntity } from '../ingest/record.js';
import { bucketIndex, bucketName } from './histogram.js';
import { CLIENT_TYPE, REMOTE_TYPE, edgeId, nodeId } from './graph-ids.js';
import { memberOf, type Deltas } from './fold.js';
import { windowOf } from './keys.js';

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
 * callee finished: a timeout) counts in the zero bucket.
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
  const i = bucketIndex(seconds * 1000);
  return bucketName(i === -Infinity ? i : Math.floor(i / 8) * 8 + 4);
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

function unionLength(calls: readonly Call[], lo: number, hi: number): number {
  const iv: Array<[number, number]> = [];
  for (const { view } of calls) {
    const s = Math.max(view.s, lo);
    const e = Math.min(view.e, hi);
    if (e > s) iv.push([s, e]);
  }
  iv.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cs = -Infinity;
  let ce = -Infinity;
  for (const [s, e] of iv) {
    if (s > ce) {
      if (ce > cs) total += ce - cs;
      cs = s;
      ce = e;
    } else if (e > ce) ce = e;
  }
  if (ce > cs) total += ce - cs;
  return total;
}

function inc(fields: Map<string, number>, f: string): void {
  fields.set(f, (fields.get(f) ?? 0) + 1);
}

function add(fields: Map<string, number>, prefix: string, seconds: number): void {
  inc(fields, prefix + bucketName(bucketIndex(seconds * 1000)));
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
  /** unwrapped traced calls by trace + id: their gap needs the callee's segment */
  const open = new Map<string, { edge: string; window: number; seconds: number }>();
  const calls: Call[] = [];
  for (const seg of segments) {
    if (seg.k !== 's') continue;
    const member = memberOf(seg.t, seg.i);
    if (!owned.has(member) || used.has(member)) continue;
    used.add(member);
    const w = windowOf(seg.s, windowSeconds);
    const delta = deltas.get(w);
    const from = nodeId(seg.ty ?? '', seg.n);
    const node = delta?.nodes.get(from);
    if (!node) continue;
    calls.length = 0;
    outermostCalls(seg, true, calls);
    add(node, TIMING_FIELDS.ownBucketPrefix, seg.e - seg.s - (calls.length ? unionLength(calls, seg.s, seg.e) : 0));
    late(node, seg, w, windowSeconds);
    const op = seg.u;
    if (op !== undefined) {
      inc(node, operationField(op, TIMING_FIELDS.operationCount));
      inc(node, operationField(op, coarseBucket(seg.e - seg.s)));
    }
    if (!seg.p) {
      const client = delta!.edges.get(edgeId(nodeId(CLIENT_TYPE, seg.n), from));
      if (client) late(client, seg, w, windowSeconds);
    }
    for (const { call, view, wrapped } of calls) {
      if (call.st) continue; // streamed: counted (or not) with its own document
      const cw = windowOf(call.s, windowSeconds);
      const alias = call.ns === 'a' ? nodeId(call.ty ?? `AWS::${call.n}`, call.n) : nodeId(REMOTE_TYPE, call.n);
      const edge = edgeId(from, alias);
      const fields = deltas.get(cw)?.edges.get(edge);
      if (!fields) continue;
      late(fields, call, cw, windowSeconds);
      if (op !== undefined) inc(fields, operationField(op, TIMING_FIELDS.operationCount));
      if (wrapped) add(fields, TIMING_FIELDS.gapBucketPrefix, Math.max(0, view.e - view.s - (call.e - call.s)));
      else if (call.tr) open.set(`${seg.t}/${call.i}`, { edge, window: cw, seconds: view.e - view.s });
    }
  }
  if (!open.size) return;
  for (const seg of segments) {
    if (seg.k !== 's' || !seg.p) continue;
    const key = `${seg.t}/${seg.p}`;
    const c = open.get(key);
    if (!c) continue;
    open.delete(key);
    const fields = deltas.get(c.window)?.edges.get(c.edge);
    if (fields) add(fields, TIMING_FIELDS.gapBucketPrefix, Math.max(0, c.seconds - (seg.e - seg.s)));
  }
}
