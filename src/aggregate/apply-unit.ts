import type { Redis } from 'ioredis';
import type { SlimDoc } from '../ingest/record.js';
import { claimables, fold, type WindowDelta } from './fold.js';
import { foldTiming } from './fold-timing.js';
import type { KeySpace } from './keys.js';
import { CLIENT_TYPE, parseEdgeId, parseNodeId } from './graph-ids.js';
import { pipeline, type Pipe } from '../redis/pipeline.js';

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

/** One claimed, folded and applied set of segments. */
export interface Unit {
  id: string;
  /** Windows the unit claimed in: each holds a claim answer until {@link UnitApplier.bookkeeping}. */
  claimWindows: number[];
  /** Members this unit counted (new when claimed). */
  owned: Set<string>;
  /** Every member the unit's claims covered, new or not. */
  claimed: Set<string>;
  duplicates: number;
  deltas: ReturnType<typeof fold>;
  windowsAlreadyApplied: number;
  maxEventTime: number;
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
 * The exactly-once application of a unit of assembled segments (a batch, or a late join): every entity
 * (trace_id, id) is claimed in its window, the unit is folded in memory, and each window's deltas are
 * applied by one script guarded by the unit's applied marker, however often the unit is retried and
 * however many workers share the Redis.
 */
export class UnitApplier {
  constructor(
    private readonly redis: Redis,
    readonly keys: KeySpace,
    readonly opts: AggregateOptions,
  ) {}

  /**
   * Claims, folds and applies one unit of assembled segments, exactly once per (unit id, window). The
   * claims stay until {@link bookkeeping} (after every window of the unit is applied and anything that
   * depends on the unit is recorded), so that a retry gets the first answers.
   */
  async apply(unitId: string, segments: readonly SlimDoc[]): Promise<Unit> {
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
  bookkeeping(post: Pipe, u: Unit): void {
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
}
