import { Queue, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import { aofWritten, connectionEpoch } from '../redis/aof-written.js';

/** BullMQ queue names; one processor per queue lives in jobs/. */
export const QUEUE = { ingest: 'ingest', close: 'close', deliver: 'deliver', traces: 'traces' } as const;

/** BullMQ's own key prefix: a hash tag, so every queue key is in one slot (Redis Cluster). */
export function bullPrefix(keyPrefix: string): string {
  return `{${keyPrefix}}`;
}

export const ingestJobOptions: JobsOptions = {
  attempts: 20,
  backoff: { type: 'exponential', delay: 500 },
  // completed jobs hold their whole batch (up to ~300 kB): keep only a few for inspection (the counts are
  // in the windows). They are memory the doors' backlog guard cannot shed and draining does not free.
  removeOnComplete: { age: 600, count: 10 },
  removeOnFail: { age: 7 * 86400 },
};

/**
 * The ingest queue. Its add() resolves only once the job is in Redis' append-only file, not merely in
 * its memory: the doors acknowledge a batch when add() resolves, and with `appendfsync everysec` Redis
 * answers before it writes the file while an fsync is running (src/redis/aof-written.ts), so a
 * redis-server killed then would lose a batch its senders were told was stored.
 */
export class IngestQueue extends Queue {
  override async add(name: string, data: unknown, opts?: JobsOptions): Promise<Job> {
    const client = await this.getBackend().client;
    const since = connectionEpoch(client);
    const job = await super.add(name, data, opts);
    await aofWritten(client, { since });
    return job;
  }
}

export function ingestQueue(connection: ConnectionOptions, keyPrefix: string, keepCompleted = 10): Queue {
  return new IngestQueue(QUEUE.ingest, { connection, prefix: bullPrefix(keyPrefix), defaultJobOptions: { ...ingestJobOptions, removeOnComplete: { age: 600, count: keepCompleted } } });
}

export function closeQueue(connection: ConnectionOptions, keyPrefix: string): Queue {
  // a tick every few seconds forever: its event stream is kept short (BullMQ's default keeps 10,000 entries, ~1 MB)
  return new Queue(QUEUE.close, { connection, prefix: bullPrefix(keyPrefix), streams: { events: { maxLen: 500 } }, defaultJobOptions: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } });
}

/**
 * Webhook deliveries. Retries of a failed request are scheduled by the processor itself (the delivery's
 * own schedule, Retry-After); BullMQ's attempts only cover an unexpected error (Redis gone mid-job).
 * Finished jobs go at once: deliveries are idempotent by their own records, not by job retention.
 */
export const deliverJobOptions: JobsOptions = {
  attempts: 30,
  backoff: { type: 'exponential', delay: 1000 },
  // the delivery log is the record; keeping finished jobs would only cost Redis work per job
  removeOnComplete: true,
  removeOnFail: { age: 7 * 86400 },
};

export function deliverQueue(connection: ConnectionOptions, keyPrefix: string): Queue {
  return new Queue(QUEUE.deliver, { connection, prefix: bullPrefix(keyPrefix), defaultJobOptions: deliverJobOptions });
}

/**
 * Trace-store writes. A write that fails because PostgreSQL is away does not spend an attempt: the
 * worker pauses the queue and retries (src/traces/writer-worker.ts); attempts only cover other errors.
 */
export const traceJobOptions: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: { age: 86400, count: 1000 },
};

export function tracesQueue(connection: ConnectionOptions, keyPrefix: string): Queue {
  return new Queue(QUEUE.traces, { connection, prefix: bullPrefix(keyPrefix), defaultJobOptions: traceJobOptions });
}
