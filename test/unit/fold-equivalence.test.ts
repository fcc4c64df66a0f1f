/**
 * The optimized fold() and claimables() (src/aggregate/fold.ts) must give exactly what the original
 * implementation gave: the same windows, keys, fields and values, in the same Map insertion order (the
 * apply script's arguments, and so replay's byte-identical outputs, follow that order). The original is
 * kept below, verbatim, as the reference.
 */
import { describe, expect, it } from 'vitest';
import { buildCorpus } from '../../bench/corpus.js';
import { assemble } from '../../src/aggregate/assemble.js';
import { claimables, fold, type Deltas } from '../../src/aggregate/fold.js';
import { FLAG_ERROR, FLAG_FAULT, FLAG_THROTTLE, type SlimDoc, type SlimEntity } from '../../src/ingest/record.js';
import { parseDocument } from '../../src/ingest/parse.js';

// ─────────────────────────────────────────────────────────────────────────────────────────────────────
// REFERENCE: the ORIGINAL implementation, copied verbatim from src/aggregate/fold.ts at cd094ce (before
// the fold was optimized), with what it imported from graph-ids.ts and histogram.ts at that commit
// (nodeId, edgeId, bucketOf) copied too, so that it does not depend on the code under test. Only the
// `export` keywords are dropped. Do not "improve" it: it is the definition of the right answer.
// ─────────────────────────────────────────────────────────────────────────────────────────────────────
namespace Reference {
  const CLIENT_TYPE = 'client';
  const REMOTE_TYPE = 'remote';
  const windowOf = (epochSeconds: number, windowSeconds: number): number => Math.floor(epochSeconds / windowSeconds) * windowSeconds;

// --- graph-ids.ts at cd094ce ---
const esc = (s: string) => s.replace(/%/g, '%25').replace(/\|/g, '%7C').replace(/>/g, '%3E');

const ids = new Map<string, string>();
const NEEDS_ESCAPE = /[%|>]/;

function nodeId(type: string, name: string): string {
  // hot path (every segment and call): escape only when needed, and remember recent answers
  if (!NEEDS_ESCAPE.test(type) && !NEEDS_ESCAPE.test(name)) return `${type}|${name}`;
  const key = `${type}\u0000${name}`;
  let id = ids.get(key);
  if (id === undefined) {
    if (ids.size > 10_000) ids.clear();
    id = `${esc(type)}|${esc(name)}`;
    ids.set(key, id);
  }
  return id;
}

function edgeId(from: string, to: string): string {
  return `${from}>${to}`;
}

// --- histogram.ts at cd094ce ---
const SCALE_FACTOR = 2 ** 5;
const ZERO_THRESHOLD_MS = 0.001;
const ZERO_BUCKET = 'z';

/** Bucket key for a latency in milliseconds. */
function bucketOf(ms: number): string {
  if (!(ms > ZERO_THRESHOLD_MS)) return ZERO_BUCKET;
  return String(Math.ceil(Math.log2(ms) * SCALE_FACTOR) - 1);
}

// --- fold.ts at cd094ce ---
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
interface Claimable {
  window: number;
  member: string;
}

function memberOf(trace: string, id: string): string {
  return id + trace.slice(-8);
}

/** Everything whose counting must be de-duplicated, in a stable order, grouped by window. */
function claimables(segments: readonly SlimDoc[], windowSeconds: number): Map<number, string[]> {
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
interface WindowDelta {
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

type Deltas = Map<number, WindowDelta>;

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
const F = {
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
function unionLength(intervals: Array<[number, number]>, lo: number, hi: number): number {
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
function fold(segments: readonly SlimDoc[], owned: ReadonlySet<string>, windowSeconds: number): Deltas {
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

  export const refClaimables = claimables;
  export const refFold = fold;
}
// ──────────────────────────────────── end of the reference copy ─────────────────────────────────────

const { refClaimables, refFold } = Reference;

/** Maps as arrays of entries, recursively, so that toEqual also compares insertion order. */
function ordered(x: unknown): unknown {
  if (x instanceof Map) return ['Map', [...x.entries()].map(([k, v]) => [ordered(k), ordered(v)])];
  if (Array.isArray(x)) return x.map(ordered);
  if (x && typeof x === 'object') return Object.entries(x).map(([k, v]) => [k, ordered(v)]);
  return x;
}

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clone = <T>(x: T): T => structuredClone(x);
const WINDOW = 60;

type Owned = 'all' | 'none' | ((members: string[]) => Set<string>);

/**
 * Runs both implementations on the same batch, each on its own copy of the input, the way the store
 * calls them (claimables, then fold on the same array), and compares everything they return.
 */
function check(segments: readonly SlimDoc[], owned: Owned, windowSeconds = WINDOW): { windows: number; keys: number } {
  const refSegs = clone(segments);
  const newSegs = clone(segments);
  const refClaims = refClaimables(refSegs, windowSeconds);
  const newClaims = claimables(newSegs, windowSeconds);
  expect(ordered(newClaims)).toEqual(ordered(refClaims));
  const members = [...refClaims.values()].flat();
  const set = owned === 'all' ? new Set(members) : owned === 'none' ? new Set<string>() : owned(members);
  const expected = refFold(refSegs, set, windowSeconds);
  const got = fold(newSegs, new Set(set), windowSeconds);
  expect(ordered(got)).toEqual(ordered(expected));
  // without claimables() before (no remembered members), and again on the same array: same answer
  expect(ordered(fold(clone(segments), new Set(set), windowSeconds))).toEqual(ordered(expected));
  expect(ordered(fold(newSegs, new Set(set), windowSeconds))).toEqual(ordered(expected));
  // and the input is left as it was
  expect(newSegs).toEqual(refSegs);
  let keys = 0;
  for (const d of (expected as Deltas).values()) keys += d.nodes.size + d.edges.size;
  return { windows: expected.size, keys };
}

const subsetOf = (rand: () => number, p: number) => (members: string[]) => new Set(members.filter(() => rand() < p));

function simulatorDocs(segments: number, seed: number): SlimDoc[] {
  const corpus = buildCorpus({ segments, seed, rate: 500, startTime: 1_700_000_040, windowSeconds: WINDOW, docsPerRequest: 200 });
  const docs: SlimDoc[] = [];
  for (const t of corpus.texts) {
    const r = parseDocument(t);
    if (r.ok) docs.push(...r.docs);
  }
  return docs;
}

const hex = (rand: () => number, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
};

/**
 * Random batches with everything fold() distinguishes: streamed subsegments, traced calls answered by
 * a segment in the batch (or not), aws calls with and without a type, every outcome flag, calls nested
 * in calls and in local subsegments, overlapping and out-of-bounds calls, window boundaries, the zero
 * latency bucket, names that need escaping, and documents sent twice.
 */
function randomBatch(rand: () => number, size: number, windowSeconds: number): SlimDoc[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const names = ['api', 'orders', 'pay|ments', 'a>b', '100%', 'db', 'cache', 'S3', 'DynamoDB', 'x'];
  const types = [undefined, 'AWS::EC2::Instance', 'AWS::Lambda::Function', 'weird|type', 'client', 'remote'];
  const traces = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => `1-${hex(rand, 8)}-${hex(rand, 24)}`);
  // trace ids with a '/' (never from the doors, which check the format, but a SlimDoc may hold one)
  if (rand() < 0.1) traces.push('1/a', '1', 'x/y/z');
  const usedIds: string[] = [];
  // ids met before, in this trace or another: the same call twice, or two calls sharing an id
  const id = () => {
    if (usedIds.length && rand() < 0.05) return pick(usedIds);
    const i = rand() < 0.02 ? `a/${hex(rand, 4)}` : hex(rand, 16);
    usedIds.push(i);
    return i;
  };
  // near a window boundary, so that calls and segments of a trace fall in two windows
  const base = 1_700_000_000 + Math.floor(rand() * 4) * windowSeconds - rand() * 2;
  const flags = () => (rand() < 0.6 ? undefined : Math.floor(rand() * 8));
  const docs: SlimDoc[] = [];
  const calledIds: Array<{ trace: string; id: string }> = [];
  const entity = (s: number, depth: number, inCall: boolean): SlimEntity => {
    const dur = rand() < 0.1 ? rand() * 1e-6 : rand() < 0.05 ? 0 : rand() * 3;
    const e: SlimEntity = { i: id(), n: pick(names), s, e: s + dur };
    const f = flags();
    if (f !== undefined) e.f = f;
    const r = rand();
    if (r < 0.3) e.ns = 'r';
    else if (r < 0.45) {
      e.ns = 'a';
      if (rand() < 0.7) e.ty = pick(['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::SQS|Queue']);
    }
    if (e.ns && rand() < 0.4) e.tr = 1;
    if (rand() < 0.15) e.st = 1;
    if (depth < 3 && rand() < 0.5) {
      const n = Math.floor(rand() * 4);
      e.c = [];
      for (let k = 0; k < n; k++) {
        // sometimes outside the parent, sometimes sharing a start with a sibling
        const cs = rand() < 0.2 ? s - rand() : rand() < 0.2 && e.c.length ? e.c[0]!.s : s + rand() * dur;
        e.c.push(entity(cs, depth + 1, inCall || !!e.ns));
      }
    }
    return e;
  };
  for (let k = 0; k < size; k++) {
    if (docs.length && rand() < 0.05) {
      docs.push(clone(pick(docs))); // sent twice in one batch
      continue;
    }
    const trace = pick(traces);
    const seg = entity(base + rand() * windowSeconds * 1.5, 0, false) as SlimDoc;
    seg.k = 's';
    seg.t = trace;
    delete seg.ns;
    delete seg.tr;
    delete seg.st;
    const ty = pick(types);
    if (ty === undefined) delete seg.ty;
    else seg.ty = ty;
    const mine = calledIds.filter((c) => c.trace === trace);
    if (mine.length && rand() < 0.7) seg.p = pick(mine).id;
    else if (rand() < 0.2) seg.p = hex(rand, 16); // a caller not in the batch
    const walk = (e: SlimEntity) => {
      for (const c of e.c ?? []) {
        if (c.tr) calledIds.push({ trace, id: c.i });
        walk(c);
      }
    };
    walk(seg);
    docs.push(seg);
  }
  // callees before their callers too
  for (let k = docs.length - 1; k > 0; k--) {
    if (rand() < 0.3) {
      const j = Math.floor(rand() * (k + 1));
      [docs[k], docs[j]] = [docs[j]!, docs[k]!];
    }
  }
  return docs;
}

/** Members of the embedded streamed copies, to leave them out of a claim or make them duplicates. */
function streamedMembers(segments: readonly SlimDoc[]): Set<string> {
  const out = new Set<string>();
  const walk = (t: string, e: SlimEntity) => {
    for (const c of e.c ?? []) {
      if (c.st) out.add(c.i + t.slice(-8));
      walk(t, c);
    }
  };
  for (const s of segments) walk(s.t, s);
  return out;
}

describe('fold() and claimables() give what the original implementation gave', () => {
  const docs = simulatorDocs(6000, 7);

  it('on the simulator corpus, in batches of 460, everything owned', () => {
    let keys = 0;
    for (let i = 0; i < docs.length; i += 460) keys += check(assemble(docs.slice(i, i + 460), []).segments, 'all').keys;
    expect(keys).toBeGreaterThan(100);
  });

  it('on the simulator corpus, with random parts of each batch owned', () => {
    const rand = rng(11);
    for (let i = 0; i < docs.length; i += 300) {
      const segments = assemble(docs.slice(i, i + 300), []).segments;
      check(segments, subsetOf(rand, 0.5));
      check(segments, subsetOf(rand, 0.95));
      check(segments, 'none');
    }
  });

  it('on simulator batches whose subsegments came apart (streamed, then assembled)', () => {
    const rand = rng(12);
    let streamed = 0;
    for (let i = 0; i < 3000; i += 400) {
      const batch: SlimDoc[] = [];
      for (const d of docs.slice(i, i + 400)) {
        const seg = clone(d);
        const keep: SlimEntity[] = [];
        for (const c of seg.c ?? []) {
          if (rand() < 0.4) {
            // sent alone (and sometimes also embedded, as the SDK may do)
            batch.push({ ...clone(c), k: 'x', t: seg.t, p: seg.i });
            if (rand() < 0.3) keep.push({ ...c, st: 1 });
          } else keep.push(c);
        }
        if (seg.c) seg.c = keep;
        batch.push(seg);
      }
      const segments = assemble(batch, []).segments;
      streamed += streamedMembers(segments).size;
      check(segments, 'all');
      check(segments, subsetOf(rand, 0.7));
      const s = streamedMembers(segments);
      check(segments, (members) => new Set(members.filter((m) => !s.has(m)))); // streamed copies counted before
      check(segments, (members) => new Set(members.filter((m) => s.has(m)))); // a resent segment, new streamed subsegments
    }
    expect(streamed).toBeGreaterThan(100);
  });

  it('on random batches with every feature, and random claims', () => {
    const rand = rng(2024);
    let windows = 0;
    for (let round = 0; round < 300; round++) {
      const windowSeconds = rand() < 0.8 ? 60 : 10;
      const segments = randomBatch(rand, 1 + Math.floor(rand() * 60), windowSeconds);
      windows += check(segments, 'all', windowSeconds).windows;
      check(segments, subsetOf(rand, rand()), windowSeconds);
      const s = streamedMembers(segments);
      check(segments, (members) => new Set(members.filter((m) => !s.has(m) || rand() < 0.5)), windowSeconds);
    }
    expect(windows).toBeGreaterThan(300);
  });

  it('on hand-written cases', () => {
    const t = '1-5f000000-000000000000000000000001';
    const seg = (i: string, s: number, e: number, extra: Partial<SlimDoc> = {}): SlimDoc => ({ k: 's', t, i, n: 'svc', s, e, ...extra });
    // nested calls, overlapping calls with equal starts, a call past the segment's end
    check(
      [
        seg('a1', 100, 101, {
          f: FLAG_FAULT,
          c: [
            { i: 'c1', n: 'db', s: 100.1, e: 100.5, ns: 'r', f: FLAG_THROTTLE, c: [{ i: 'c2', n: 'inner', s: 100.2, e: 100.3, ns: 'r' }] },
            { i: 'c3', n: 'DynamoDB', s: 100.1, e: 100.2, ns: 'a', ty: 'AWS::DynamoDB::Table', tr: 1 },
            { i: 'c4', n: 'S3', s: 100.4, e: 102, ns: 'a', f: FLAG_ERROR },
            { i: 'l1', n: 'local', s: 100, e: 100.9, c: [{ i: 'c5', n: 'db', s: 100.6, e: 100.7, ns: 'r', tr: 1, f: FLAG_ERROR | FLAG_THROTTLE }] },
          ],
        }),
        seg('b1', 100.6, 100.7, { p: 'c5', ty: 'AWS::EC2::Instance' }),
        seg('b2', 100.1, 100.2, { p: 'c3', f: FLAG_FAULT }),
        seg('b3', 100.1, 100.2, { p: 'nobody' }),
      ],
      'all',
    );
    // a segment across a window boundary, its calls on both sides
    check(
      [
        seg('w1', 119.5, 121, {
          c: [
            { i: 'x1', n: 'db', s: 119.6, e: 119.9, ns: 'r' },
            { i: 'x2', n: 'db', s: 120.1, e: 120.9, ns: 'r', tr: 1 },
          ],
        }),
        seg('w2', 120.2, 120.8, { p: 'x2' }),
      ],
      'all',
    );
    // streamed subsegments: owned or not, with calls under them
    const streamed = seg('s1', 200, 201, {
      f: FLAG_FAULT,
      c: [
        { i: 'st1', n: 'db', s: 200.1, e: 200.2, ns: 'r', st: 1, f: FLAG_FAULT },
        { i: 'st2', n: 'work', s: 200.3, e: 200.6, st: 1, c: [{ i: 'st3', n: 'q', s: 200.4, e: 200.5, ns: 'a', tr: 1 }] },
      ],
    });
    check([streamed], 'all');
    check([streamed], 'none');
    check([streamed], (m) => new Set(m.filter((x) => x.startsWith('st'))));
    check([streamed], (m) => new Set(m.filter((x) => !x.startsWith('st2'))));
    check([streamed, clone(streamed)], 'all'); // the same document twice in a batch
    // a batch changed between claimables() and fold(): the remembered members must not be used
    const batch = [seg('m1', 400, 401), seg('m2', 400, 401), seg('m3', 400, 401)];
    const members = [...refClaimables(batch, WINDOW).values()].flat();
    const owned = new Set(members); // the new m1 and the m2 of another trace are not in it
    claimables(batch, WINDOW);
    batch[0]!.i = 'm9';
    batch[1]!.t = '1-5f000000-000000000000000099999999';
    batch.push(seg('m4', 400, 401));
    expect(ordered(fold(batch, owned, WINDOW))).toEqual(ordered(refFold(clone(batch), owned, WINDOW)));
    // trace ids with a '/': `1/a` + `/b` and `1` + `/a/b` are the same caller to the original
    const slashed = (tr: string, i: string, extra: Partial<SlimDoc>): SlimDoc => ({ k: 's', t: tr, i, n: 'svc', s: 500, e: 501, ...extra });
    const callTo = (i: string, n: string): SlimEntity => ({ i, n, s: 500.1, e: 500.2, ns: 'r', tr: 1 });
    check([slashed('1/a', 'p1', { c: [callTo('b', 'one')] }), slashed('1', 'p2', { c: [callTo('a/b', 'two')] }), slashed('1', 'q1', { p: 'a/b' }), slashed('1/a', 'q2', { p: 'b' })], 'all');
    check([slashed('1/a', 'p1', { c: [callTo('b', 'one')] }), slashed('2', 'p2', { c: [callTo('b', 'two')] }), slashed('2', 'q1', { p: 'b' })], 'all');
    // two calls with one id in one trace (the last counts, in the first's place), and in two traces
    const t2 = '1-5f000000-000000000000000000000002';
    check(
      [
        seg('d1', 600, 601, { c: [callTo('dup', 'first'), callTo('other', 'x')] }),
        seg('d2', 600, 601, { c: [callTo('dup', 'second')] }),
        { ...seg('d3', 600, 601, { c: [callTo('dup', 'third')] }), t: t2 },
        { ...seg('d4', 600, 601, { p: 'dup' }), t: t2 },
        seg('d5', 600, 601, { p: 'dup' }),
        seg('d6', 600, 601, { p: 'dup' }),
      ],
      'all',
    );
    // empty batches, zero-length and tiny durations
    check([], 'all');
    check([], 'none');
    check([seg('z1', 300, 300), seg('z2', 300, 300.0000001, { c: [{ i: 'zc', n: 'db', s: 300, e: 300, ns: 'r' }] })], 'all');
  });
});
