import type { Redis } from 'ioredis';
import type { IngestJob, SlimDoc } from '../ingest/record.js';
import { slimDocSchema } from '../ingest/record.js';
import { assemble } from './assemble.js';
import { claimables, fold, memberOf, type WindowDelta } from './fold.js';
import type { KeySpace } from './keys.js';
import { CLIENT_TYPE, parseEdgeId, parseNodeId } from './graph-ids.js';

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
  constructor(
    private readonly redis: Redis,
    readonly keys: KeySpace,
    readonly opts: AggregateOptions,
  ) {}

  private async fetchParked(docs: readonly SlimDoc[]): Promise<SlimDoc[]> {
    const buckets = bucketsOf(docs);
    if (buckets.size === 0) return [];
    // Most of the time nothing is parked: ask how much is, before sending every trace id of the batch.
    const sizes = this.redis.pipeline();
    for (const b of buckets.keys()) sizes.hlen(this.keys.orphans(b));
    const counts = (await sizes.exec()) ?? [];
    [...buckets.keys()].forEach((b, i) => {
      const [err, n] = counts[i]!;
      if (err) throw err;
      if (n === 0) buckets.delete(b);
    });
    if (buckets.size === 0) return [];
    const pipe = this.redis.pipeline();
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

  async applyBatch(job: IngestJob): Promise<ApplyResult> {
    const { windowSeconds } = this.opts;
    const parked = await this.fetchParked(job.docs);
    const { segments, leftovers, joinedParked } = assemble(job.docs, parked);

    // Phase 1: claim every entity in its window; the answer is remembered per batch for retries.
    const byWindow = claimables(segments, windowSeconds);
    const owned = new Set<string>();
    const claimed = new Set<string>();
    let duplicates = 0;
    if (byWindow.size) {
      const pipe = this.redis.pipeline();
      for (const [w, members] of byWindow) {
        pipe.tiClaim(this.keys.seen(w), this.keys.claim(w, job.id), this.opts.dedupeTtlSeconds, this.opts.markerTtlSeconds, ...members);
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
    let windowsAlreadyApplied = 0;
    let maxEventTime = 0;
    if (deltas.size) {
      const pipe = this.redis.pipeline();
      for (const [w, delta] of deltas) {
        maxEventTime = Math.max(maxEventTime, delta.maxEventTime);
        const [numKeys, ...rest] = encodeApply(this.keys, w, job.id, delta, this.opts);
        pipe.tiApply(numKeys as number, ...rest);
      }
      const res = (await pipe.exec()) ?? [];
      for (const [err, applied] of res) {
        if (err) throw err;
        if (Number(applied) === 0) windowsAlreadyApplied++;
      }
    }

    // Bookkeeping that is idempotent by itself: parking, watermark, catalog.
    const post = this.redis.pipeline();
    let posts = 0;
    // The claims go only now that every window is applied: a run that died between two windows'
    // applications must be retried with the first answers, or a segment counted in one window would
    // no longer count its calls in the next.
    for (const w of byWindow.keys()) post.del(this.keys.claim(w, job.id)), posts++;
    for (const [b, pairs] of byOrphanBucket(leftovers)) post.tiPark(this.keys.orphans(b), ORPHAN_TTL_SECONDS, ...pairs), posts++;
    // Only what a claim covered leaves the parking; anything else stays for a later batch.
    const unpark = joinedParked.filter((d) => claimed.has(memberOf(d.t, d.i)));
    for (const [b, pairs] of byOrphanBucket(unpark)) post.tiUnpark(this.keys.orphans(b), ...pairs), posts++;
    if (deltas.size) {
      const open: Array<string | number> = [];
      for (const w of deltas.keys()) open.push(w, w);
      post.zadd(this.keys.openWindows(), ...open);
      post.expire(this.keys.openWindows(), this.opts.retentionSeconds);
      posts += 2;
    }
    if (maxEventTime > 0) {
      post.tiMax(this.keys.watermark(), maxEventTime, this.opts.retentionSeconds);
      const catalog: Array<string | number> = [];
      for (const [w, delta] of deltas) {
        for (const id of delta.nodes.keys()) catalog.push(id, w);
        for (const id of delta.edges.keys()) {
          const to = parseEdgeId(id).to;
          if (parseNodeId(to).type !== CLIENT_TYPE) catalog.push(to, w);
        }
      }
      if (catalog.length) post.tiHmax(this.keys.catalog(), this.opts.retentionSeconds, ...catalog);
      posts += 2;
    }
    if (posts) {
      const res = (await post.exec()) ?? [];
      for (const [err] of res) if (err) throw err;
    }
    return {
      documents: job.docs.length,
      counted: owned.size,
      duplicates,
      windows: deltas.size,
      windowsAlreadyApplied,
      parked: leftovers.length,
      maxEventTime,
    };
  }
}
