import type { Redis } from 'ioredis';
import type { SlimDoc } from '../ingest/record.js';
import { claimables, fold } from './fold.js';
import { foldTiming } from './fold-timing.js';
import type { KeySpace } from './keys.js';
import type { AggregateOptions } from './options.js';
import { CLIENT_TYPE, parseEdgeId, parseNodeId } from './graph-ids.js';
import { pipeline, type Pipe } from '../redis/pipeline.js';
import { applyScript, claimScript, hmaxScript, maxScript } from './scripts.js';
import { aofWritten, connectionEpoch } from '../redis/aof-written.js';

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
    const since = this.epoch();
    // Phase 1: claim every entity in its window; the answer is remembered per unit for retries.
    const byWindow = claimables(segments, windowSeconds);
    const owned = new Set<string>();
    const claimed = new Set<string>();
    let duplicates = 0;
    if (byWindow.size) {
      const pipe = pipeline(this.redis);
      const answers = [...byWindow].map(([window, members]) =>
        claimScript.queue(pipe, { keys: this.keys, window, unitId, members, seenTtl: this.opts.dedupeTtlSeconds, claimTtl: this.opts.markerTtlSeconds }),
      );
      const res = (await pipe.exec()) ?? [];
      res.forEach(([err, answer], k) => {
        if (err) throw err;
        const { flags, members } = answers[k]!(answer);
        for (let i = 0; i < members.length; i++) {
          claimed.add(members[i]!);
          if (flags.charCodeAt(i) === 49 /* '1' */) owned.add(members[i]!);
          else duplicates++;
        }
      });
    }

    // The claims must be in Redis' append-only file before anything is applied on their answers: a
    // redis-server killed while it postpones writing the file (appendfsync everysec) comes back without
    // them, and deltas applied after its restart on a lost claim leave the segments counted but not
    // seen, so a resend of them counts again (test/integration/redis-kill.test.ts counted a whole batch
    // twice: 201,000 for 200,000).
    if (byWindow.size) await this.durable(since);

    // Phase 2: fold in memory, then one atomic script per window.
    const deltas = fold(segments, owned, windowSeconds);
    foldTiming(segments, owned, windowSeconds, deltas);
    let windowsAlreadyApplied = 0;
    let maxEventTime = 0;
    if (deltas.size) {
      const pipe = pipeline(this.redis);
      const answers = [...deltas].map(([window, delta]) => {
        maxEventTime = Math.max(maxEventTime, delta.maxEventTime);
        return applyScript.queue(pipe, { keys: this.keys, window, unitId, delta, opts: this.opts });
      });
      const res = (await pipe.exec()) ?? [];
      res.forEach(([err, reply], k) => {
        if (err) throw err;
        if (!answers[k]!(reply)) windowsAlreadyApplied++;
      });
      // and the applications before the bookkeeping that drops the claims: claims gone with the deltas
      // lost would count nothing on a retry
      await this.durable(since);
    }
    return { id: unitId, claimWindows: [...byWindow.keys()], owned, claimed, duplicates, deltas, windowsAlreadyApplied, maxEventTime };
  }

  /** The connection's epoch, to take before writes that {@link durable} will wait for. */
  epoch(): number {
    return connectionEpoch(this.redis);
  }

  /**
   * Resolves once every write Redis executed so far is in its append-only file (nothing to wait for
   * without one, or on a cluster): the barrier between a write and a write that depends on its answer.
   * Fails (retryable: the job is tried again) if the connection was lost since `since`, as the writes
   * may have been lost with a restarted server.
   */
  durable(since: number): Promise<void> {
    return aofWritten(this.redis, { since });
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
      maxScript.queue(post, { key: this.keys.watermark(), value: u.maxEventTime, ttl: this.opts.retentionSeconds });
      const catalog: Array<string | number> = [];
      for (const [w, delta] of u.deltas) {
        for (const id of delta.nodes.keys()) catalog.push(id, w);
        for (const id of delta.edges.keys()) {
          const to = parseEdgeId(id).to;
          if (parseNodeId(to).type !== CLIENT_TYPE) catalog.push(to, w);
        }
      }
      if (catalog.length) hmaxScript.queue(post, { key: this.keys.catalog(), ttl: this.opts.retentionSeconds, pairs: catalog });
    }
  }
}
