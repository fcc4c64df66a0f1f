import { UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseIngestJob } from '../src/ingest/record.js';
import type { AggregateStore, ApplyResult } from '../src/aggregate/store.js';
import type { Metrics } from '../src/obs/metrics.js';

export interface IngestProcessorDeps {
  store: AggregateStore;
  /** Where invalid payloads are recorded, with their reason. */
  deadLetter: (job: Job, reason: string) => Promise<void>;
  metrics?: Metrics;
}

/** Processor of the "ingest" queue: validate the payload, apply it, report what it did. */
export function ingestProcessor(deps: IngestProcessorDeps) {
  return async (job: Job): Promise<ApplyResult> => {
    const payload = parseIngestJob(job.data);
    if (!payload.success) {
      const reason = payload.reason;
      await deps.deadLetter(job, reason);
      deps.metrics?.deadLettered.inc({ queue: 'ingest' });
      throw new UnrecoverableError(`invalid ingest payload: ${reason}`);
    }
    const r = await deps.store.applyBatch(payload.data);
    if (deps.metrics) {
      deps.metrics.entitiesCounted.inc(r.counted);
      deps.metrics.duplicates.inc(r.duplicates);
      deps.metrics.batchesReplayed.inc(r.windowsAlreadyApplied);
      deps.metrics.parked.inc(r.parked);
      if (r.maxEventTime) deps.metrics.watermark.set(r.maxEventTime);
    }
    return r;
  };
}

/** Dead letters: a capped list in Redis, each entry the job id, the reason and the time. */
export function redisDeadLetter(redis: Redis, key: string, ttlSeconds: number) {
  return async (job: Job, reason: string) => {
    await redis
      .multi()
      .lpush(key, JSON.stringify({ queue: job.queueName, jobId: job.id, reason, at: Date.now() }))
      .ltrim(key, 0, 9999)
      .expire(key, ttlSeconds)
      .exec();
  };
}
