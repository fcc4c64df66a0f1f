import type { Redis } from 'ioredis';
import type { IngestJob, SlimDoc, SlimEntity } from '../ingest/record.js';
import { slimDocSchema } from '../ingest/record.js';
import { assemble } from './assemble.js';
import { claimables, fold, memberOf, type WindowDelta } from './fold.js';
import { foldTiming } from './fold-timing.js';
import { collectExemplars, writeExemplars } from './exemplars.js';
import type { KeySpace } from './keys.js';
import { CLIENT_TYPE, nodeId, parseEdgeId, parseNodeId } from './graph-ids.js';
import { pipeline } from '../redis/pipeline.js';

export interface AggregateOptions {
  windowSeconds: number;
  /** TTL of window aggregates. */
  retentionSeconds: number;
  /** TTL of the de-duplication sets. */
  dedupeTtlSeconds: number;
  /** TTL of applied markers and claims. */
  markerTtlSeconds: number;
  /** TTL of link evidence waiting to be matched (pending callers/callees); default 1 h past lateness. */
  pendingTtlSeconds?: number;
}

/** Parked subsegments are grouped in buckets of this many seconds of event time. */
export const ORPHAN_BUCKET_SECONDS = 600;
const ORPHAN_TTL_SECONDS = 3600;

export interface ApplyResult {
  /** Documents in the job. */
  documents: number;
  /** Entities this job counted (documents and streamed copies that were new). */
  counted: number;
  /** Entities dropped as already counted. */
  duplicates: number;
  /** Windows this job touched, and how many of them it had applied before (a retry). */
  windows: number;
  windowsAlreadyApplied: number;
  /** Subsegments parked to wait for their segment. */
  parked: number;
  maxEventTime: number;
}

function bucketsOf(docs: readonly SlimDoc[]): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  for (const d of docs) {
    if (d.k !== 's') continue;
    const lo = Math.floor(d.s / ORPHAN_BUCKET_SECONDS);
    const hi = Math.floor(d.e / ORPHAN_BUCKET_SECONDS);
    for (let b = lo; b <= hi; b++) {
      let set = out.get(b);
      if (!set) out.set(b, (set = new Set()));
      set.add(d.t);
    }
  }
  return out;
}

/** Parked subsegments as (trace, line) pairs per parking bucket. */
function byOrphanBucket(docs: readonly SlimDoc[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const d of docs) {
    const b = Math.floor(d.s / ORPHAN_BUCKET_SECONDS);
    let list = out.get(b);
    if (!list) out.set(b, (list = []));
    list.push(d.t, JSON.stringify(d));
  }
  return out;
}

/** Turns one window's delta into the keys and arguments of the apply script. */
export function encodeApply(keys: KeySpace, w: number, batchId: string, delta: WindowDelta, opts: AggregateOptions): Array<string | number> {
  const dataKeys: string[] = [];
  const args: Array<string | number> = [opts.markerTtlSeconds];
  const keep = opts.retentionSeconds;
  const pendingTtl = opts.pendingTtlSeconds ?? 3600 + 3 * opts.windowSeconds;
  const hashOp = (key: string, op: 'i' | 's', fields: Map<string, number | string>, ttl = keep) => {
    if (fields.size === 0) return;
    dataKeys.push(key);
    args.push(op, ttl, fields.size);
    for (const [f, v] of fields) args.push(f, v);
  };
  const setOp = (key: string, members: Iterable<string>) => {
    const list = [...members];
    if (list.length === 0) return;
    dataKeys.push(key);
    args.push('a', keep, list.length, ...list);
  };
  for (const [id, fields] of delta.nodes) hashOp(keys.node(w, id), 'i', fields);
  for (const [id, fields] of delta.edges) hashOp(keys.edge(w, id), 'i', fields);
  setOp(keys.nodes(w), delta.nodes.keys());
  setOp(keys.edges(w), delta.edges.keys());
  hashOp(keys.links(w), 'i', delta.links);
  hashOp(keys.pendingCallers(w), 's', delta.pendingCallers, pendingTtl);
  hashOp(keys.pendingCallees(w), 's', delta.pendingCallees, pendingTtl);
  const allKeys = [keys.applied(w, batchId), ...dataKeys];
  return [allKeys.length, ...allKeys, ...args];
}

/**
 * Reads the claim script's answer: flags for the members sent, or, on a retry, the first run's flags
 * with the first run's members. The first answer is authoritative: a retry that assembled a different
 * set of entities (a parked subsegment came or went) counts only what the first run claimed as new.
 */
export function claimAnswer(answer: string, sent: readonly string[]): { flags: string; members: readonly string[] } {
  const sp = answer.indexOf(' ');
  if (sp < 0) return { flags: answer, members: sent };
  return { flags: answer.slice(0, sp), members: answer.slice(sp + 1).split(',') };
}

/**
 * Applies ingest batches to the window aggregates, exactly once per (batch, window) and once per
 * entity (trace_id, id), however often a job is retried and however many workers share the Redis.
 */
export class AggregateStore {
  /** Whether independent subsegments were in the traffic lately (learnt from Redis after each batch). */
  private streaming = false;

  constructor(
    private readonly redis: Redis,
    readonly keys: KeySpace,
    readonly opts: AggregateOptions,
  ) {}

  private async fetchParked(docs: readonly SlimDoc[]): Promise<SlimDoc[]> {
    const buckets = bucketsOf(docs);
    if (buckets.size === 0) return [];
    // Most of the time nothing is parked: ask how much is, before sending every trace id of the batch.
    const sizes = pipeline(this.redis);
    for (const b of buckets.keys()) sizes.hlen(this.keys.orphans(b));
    const counts = (await sizes.exec()) ?? [];
    [...buckets.keys()].forEach((b, i) => {
      const [err, n] = counts[i]!;
      if (err) throw err;
      if (n === 0) buckets.delete(b);
    });
    if (buckets.size === 0) return [];
    const pipe = pipeline(this.redis);
    const order: Array<string[]> = [];
    for (const [b, traces] of buckets) {
      const list = [...traces];
      order.push(list);
      pipe.hmget(this.keys.orphans(b), ...list);
    }
    const res = (await pipe.exec()) ?? [];
    const out: SlimDoc[] = [];
    const seen = new Set<string>();
    res.forEach(([err, values]) => {
      if (err) throw err;
      for (const v of values as Array<string | null>) {
        if (!v) continue;
        for (const line of v.split('\n')) {
          if (seen.has(line)) continue;
          seen.add(line);
          const parsed = slimDocSchema.safeParse(JSON.parse(line));
          if (parsed.success) out.push(parsed.data);
        }
      }
    });
    return out;
  }

  /**
   * Claims, folds and applies one unit of assembled segments, exactly once per (unit id, window). The
   * claims stay until `dropClaims` (after every window of the unit is applied and anything that
   * depends on the unit is recorded), so that a retry gets the first answers.
   */
  private async applyUnit(unitId: string, segments: readonly SlimDoc[]): Promise<Unit> {
    const { windowSeconds } = this.opts;
    // Phase 1: claim every entity in its window; the answer is remembered per unit for retries.
    const byWindow = claimables(segments, windowSeconds);
    const owned = new Set<string>();
    const claimed = new Set<string>();
    let duplicates = 0;
    if (byWindow.size) {
      const pipe = pipeline(this.redis);
      for (const [w, members] of byWindow) {
        pipe.tiClaim(this.keys.seen(w), this.keys.claim(w, unitId), this.opts.dedupeTtlSeconds, this.opts.markerTtlSeconds, ...members);
      }
      const res = (await pipe.exec()) ?? [];
      const sent = [...byWindow.values()];
      res.forEach(([err, answer], k) => {
        if (err) throw err;
        const { flags, members } = claimAnswer(String(answer), sent[k]!);
        for (let i = 0; i < members.length; i++) {
          claimed.add(members[i]!);
          if (flags.charCodeAt(i) === 49 /* '1' */) owned.add(members[i]!);
          else duplicates++;
        }
      });
    }

    // Phase 2: fold in memory, then one atomic script per window.
    const deltas = fold(segments, owned, windowSeconds);
    foldTiming(segments, owned, windowSeconds, deltas);
    let windowsAlreadyApplied = 0;
    let maxEventTime = 0;
    if (deltas.size) {
      const pipe = pipeline(this.redis);
      for (const [w, delta] of deltas) {
        maxEventTime = Math.max(maxEventTime, delta.maxEventTime);
        const [numKeys, ...rest] = encodeApply(this.keys, w, unitId, delta, this.opts);
        pipe.tiApply(numKeys as number, ...rest);
      }
      const res = (await pipe.exec()) ?? [];
      for (const [err, applied] of res) {
        if (err) throw err;
        if (Number(applied) === 0) windowsAlreadyApplied++;
      }
    }
    return { id: unitId, claimWindows: [...byWindow.keys()], owned, claimed, duplicates, deltas, windowsAlreadyApplied, maxEventTime };
  }

  /** Idempotent bookkeeping of an applied unit: open windows, watermark, catalog; and its claims go. */
  private bookkeeping(post: ReturnType<Redis['pipeline']>, u: Unit): void {
    for (const w of u.claimWindows) post.del(this.keys.claim(w, u.id));
    if (u.deltas.size) {
      const open: Array<string | number> = [];
      for (const w of u.deltas.keys()) open.push(w, w);
      post.zadd(this.keys.openWindows(), ...open);
      post.expire(this.keys.openWindows(), this.opts.retentionSeconds);
    }
    if (u.maxEventTime > 0) {
      post.tiMax(this.keys.watermark(), u.maxEventTime, this.opts.retentionSeconds);
      const catalog: Array<string | number> = [];
      for (const [w, delta] of u.deltas) {
        for (const id of delta.nodes.keys()) catalog.push(id, w);
        for (const id of delta.edges.keys()) {
          const to = parseEdgeId(id).to;
          if (parseNodeId(to).type !== CLIENT_TYPE) catalog.push(to, w);
        }
      }
      if (catalog.length) post.tiHmax(this.keys.catalog(), this.opts.retentionSeconds, ...catalog);
    }
  }

  /** Joined subsegments leave the parking, only those a claim of the unit covered; the rest wait on. */
  private unpark(post: ReturnType<Redis['pipeline']>, joined: readonly SlimDoc[], u: Unit): void {
    const covered = joined.filter((d) => u.claimed.has(memberOf(d.t, d.i)));
    for (const [b, pairs] of byOrphanBucket(covered)) post.tiUnpark(this.keys.orphans(b), ...pairs);
  }

  private async exec(pipe: ReturnType<Redis['pipeline']>): Promise<Array<[Error | null, unknown]>> {
    const res = (await pipe.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
    return res;
  }

  async applyBatch(job: IngestJob): Promise<ApplyResult> {
    const parked = await this.fetchParked(job.docs);
    const { segments, leftovers, joinedParked } = assemble(job.docs, parked);
    const main = await this.applyUnit(job.id, segments);

    // Bookkeeping that is idempotent by itself: parking, skeletons, watermark, catalog. The claims go
    // only now that every window is applied: a run that died between two windows' applications must be
    // retried with the first answers, or a segment counted in one window would no longer count its calls
    // in the next.
    const post = pipeline(this.redis);
    this.bookkeeping(post, main);
    writeExemplars(post, this.keys, collectExemplars(segments, this.opts.windowSeconds));
    for (const [b, pairs] of byOrphanBucket(leftovers)) post.tiPark(this.keys.orphans(b), ORPHAN_TTL_SECONDS, ...pairs);
    this.unpark(post, joinedParked, main);
    // Skeletons cost a field per segment, so they are written only while the traffic has independent
    // subsegments at all (an hour after the last one seen by any worker).
    const loose = leftovers.length > 0 || parked.length > 0 || job.docs.some((d) => d.k === 'x');
    if (loose) post.set(this.keys.streaming(), '1', 'EX', STREAMING_TTL_SECONDS);
    if (loose || this.streaming) {
      for (const [b, fields] of skeletonsOf(job.docs)) {
        post.hset(this.keys.skeletons(b), fields);
        post.expire(this.keys.skeletons(b), SKELETON_TTL_SECONDS);
      }
    }
    const streamingAt = post.length;
    post.exists(this.keys.streaming());
    // what was parked in the meantime for these traces (another batch, at the same moment)
    const recheckFrom = post.length;
    for (const b of bucketsOf(job.docs).keys()) post.hlen(this.keys.orphans(b));
    const res = await this.exec(post);
    this.streaming = Number(res[streamingAt]![1]) === 1;
    const parkedSince = res.slice(recheckFrom).some(([, n]) => Number(n) > 0);

    const late = await this.lateJoin(job, leftovers, parkedSince);
    return {
      documents: job.docs.length,
      counted: main.owned.size + (late?.owned.size ?? 0),
      duplicates: main.duplicates,
      windows: main.deltas.size,
      windowsAlreadyApplied: main.windowsAlreadyApplied,
      parked: leftovers.length,
      maxEventTime: Math.max(main.maxEventTime, late?.maxEventTime ?? 0),
    };
  }

  /**
   * Streamed subsegments and their segment in different batches, the other way round from the usual:
   * the segment was applied before its subsegment came (or at the same moment, in another batch).
   * Each side writes first and looks second — a batch parks its loose subsegments, then looks for the
   * skeletons of their segments; a batch records the skeletons of its segments, then looks at the
   * parking — so whichever way two batches interleave, at least one of them finds the other. Both may:
   * the join is claimed like anything else, so a subsegment counts once. The join is its own unit
   * (`<job>:late`, applied once per window like a batch), and leaves the parking only once applied.
   * Only the subsegment's own calls are counted then: its segment's counts were applied without it.
   */
  private async lateJoin(job: IngestJob, leftovers: readonly SlimDoc[], parkedSince: boolean): Promise<Unit | undefined> {
    const pseudo = leftovers.length ? await this.segmentsOf(leftovers) : [];
    const parked = parkedSince ? await this.fetchParked(job.docs) : [];
    if (!pseudo.length && !parked.length) return undefined;
    // the loose subsegments (this batch's, and any parked for its traces) with every segment they may hang on
    const docs = [...job.docs.filter((d) => d.k === 's'), ...pseudo];
    const loose = [...leftovers, ...parked];
    const { segments, joinedParked } = assemble(docs, loose);
    if (!joinedParked.length) return undefined;
    const unit = await this.applyUnit(`${job.id}:late`, segments);
    const post = pipeline(this.redis);
    this.bookkeeping(post, unit);
    this.unpark(post, joinedParked, unit);
    await this.exec(post);
    return unit;
  }

  /** Stand-ins for the segments that loose subsegments hang on, from the skeletons of applied segments. */
  private async segmentsOf(loose: readonly SlimDoc[]): Promise<SlimDoc[]> {
    const lookups = new Map<number, Set<string>>();
    /** member asked → a loose subsegment asking for it */
    const askers = new Map<string, SlimDoc>();
    for (const d of loose) {
      if (!d.p) continue;
      askers.set(memberOf(d.t, d.p), d);
      const b = Math.floor(d.s / ORPHAN_BUCKET_SECONDS);
      // the segment started before its subsegment: this bucket or the one before
      for (const x of [b, b - 1]) {
        let set = lookups.get(x);
        if (!set) lookups.set(x, (set = new Set()));
        set.add(memberOf(d.t, d.p));
      }
    }
    if (!lookups.size) return [];
    const pipe = pipeline(this.redis);
    const asked: string[][] = [];
    for (const [b, members] of lookups) {
      const list = [...members];
      asked.push(list);
      pipe.hmget(this.keys.skeletons(b), ...list);
    }
    const res = await this.exec(pipe);
    const out = new Map<string, SlimDoc>();
    res.forEach(([, values], k) => {
      (values as Array<string | null>).forEach((v, i) => {
        if (!v) return;
        const sk = parseSkeleton(v);
        const asker = askers.get(asked[k]![i]!);
        if (!sk || !asker) return;
        const key = `${asker.t}/${sk.segment}`;
        let seg = out.get(key);
        if (!seg) {
          seg = { k: 's', t: asker.t, i: sk.segment, n: sk.name, s: sk.start, e: sk.start };
          if (sk.type) seg.ty = sk.type;
          out.set(key, seg);
        }
        // a local subsegment of it that a loose one hangs on: a stand-in child, outside any call
        const entity = asker.p!;
        if (entity !== sk.segment && !seg.c?.some((c) => c.i === entity)) (seg.c ??= []).push({ i: entity, n: '', s: sk.start, e: sk.start });
      });
    });
    return [...out.values()];
  }
}

/** One claimed, folded and applied set of segments. */
interface Unit {
  id: string;
  claimWindows: number[];
  owned: Set<string>;
  claimed: Set<string>;
  duplicates: number;
  deltas: ReturnType<typeof fold>;
  windowsAlreadyApplied: number;
  maxEventTime: number;
}

/** How long a segment's skeleton is kept for a subsegment that comes after it. */
const SKELETON_TTL_SECONDS = 900;
/** How long after the last independent subsegment segments keep leaving skeletons. */
const STREAMING_TTL_SECONDS = 3600;

/**
 * Skeletons of a batch's segments, per time bucket of their start: for the segment and each local
 * subsegment (not a call, not inside one) — what a streamed subsegment could hang on and still have
 * its calls counted — member → `<segment id>\t<start>\t<node id>` (the member holds the entity id and
 * the end of the trace id; the subsegment that asks has the whole trace id).
 */
function skeletonsOf(docs: readonly SlimDoc[]): Map<number, Record<string, string>> {
  const out = new Map<number, Record<string, string>>();
  for (const d of docs) {
    if (d.k !== 's') continue;
    const b = Math.floor(d.s / ORPHAN_BUCKET_SECONDS);
    let fields = out.get(b);
    if (!fields) out.set(b, (fields = {}));
    const value = `${d.i}\t${d.s}\t${nodeId(d.ty ?? '', d.n)}`;
    const add = (e: SlimEntity) => {
      fields![memberOf(d.t, e.i)] = value;
      if (e.c) for (const c of e.c) if (!c.ns) add(c);
    };
    add(d);
  }
  return out;
}

function parseSkeleton(v: string): { segment: string; start: number; type: string; name: string } | undefined {
  const t1 = v.indexOf('\t');
  const t2 = v.indexOf('\t', t1 + 1);
  if (t1 < 1 || t2 < 0) return undefined;
  const start = Number(v.slice(t1 + 1, t2));
  if (!Number.isFinite(start)) return undefined;
  const { type, name } = parseNodeId(v.slice(t2 + 1));
  return { segment: v.slice(0, t1), start, type, name };
}
