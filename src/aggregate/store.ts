import type { Redis } from 'ioredis';
import type { IngestJob } from '../ingest/record.js';
import { assemble } from './assemble.js';
import { collectExemplars, exemplarTtlSeconds, writeExemplars } from './exemplars.js';
import type { KeySpace } from './keys.js';
import { UnitApplier } from './apply-unit.js';
import type { AggregateOptions } from './options.js';
import { exec, StreamedSubsegments } from './streamed-subsegments.js';
import { pipeline } from '../redis/pipeline.js';

export type { AggregateOptions } from './options.js';
export { claimAnswer, encodeApply } from './scripts.js';
export { ORPHAN_BUCKET_SECONDS } from './streamed-subsegments.js';

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

/**
 * Applies ingest batches to the window aggregates, exactly once per (batch, window) and once per
 * entity (trace_id, id), however often a job is retried and however many workers share the Redis.
 * The exactly-once application is {@link UnitApplier}'s; streamed subsegments whose segment is in
 * another batch are {@link StreamedSubsegments}'; this puts a batch through both.
 */
export class AggregateStore {
  private readonly units: UnitApplier;
  private readonly streamed: StreamedSubsegments;

  constructor(
    private readonly redis: Redis,
    readonly keys: KeySpace,
    readonly opts: AggregateOptions,
  ) {
    this.units = new UnitApplier(redis, keys, opts);
    this.streamed = new StreamedSubsegments(redis, keys, this.units);
  }

  async applyBatch(job: IngestJob): Promise<ApplyResult> {
    const since = this.units.epoch();
    const parked = await this.streamed.fetchParked(job.docs);
    const { segments, leftovers, joinedParked } = assemble(job.docs, parked);
    const main = await this.units.apply(job.id, segments);

    // Bookkeeping that is idempotent by itself: parking, skeletons, watermark, catalog. The claims go
    // only now that every window is applied: a run that died between two windows' applications must be
    // retried with the first answers, or a segment counted in one window would no longer count its calls
    // in the next.
    const post = pipeline(this.redis);
    this.units.bookkeeping(post, main);
    writeExemplars(post, this.keys, collectExemplars(segments, this.opts.windowSeconds), exemplarTtlSeconds(this.opts.retentionSeconds));
    const parking = this.streamed.park(post, job, { leftovers, parked, joinedParked, unit: main });
    const { parkedSince } = parking.read(await exec(post));

    const late = await this.streamed.lateJoin(job, leftovers, parkedSince);
    // the job completes once this returns: a redis-server restarted between the two must not come back
    // with the completion (sent after its restart) and without this bookkeeping (open windows, watermark,
    // parking), lost from the file it had not yet written
    await this.units.durable(since);
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
}
