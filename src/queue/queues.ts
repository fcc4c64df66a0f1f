import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

/** BullMQ queue names; one processor per queue lives in jobs/. */
export const QUEUE = { ingest: 'ingest', close: 'close' } as const;

/** BullMQ's own key prefix: a hash tag, so every queue key is in one slot (Redis Cluster). */
export function bullPrefix(keyPrefix: string): string {
  return `{${keyPrefix}}`;
}

export const ingestJobOptions: JobsOptions = {
  attempts: 20,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 3600, count: 10000 },
  removeOnFail: { age: 7 * 86400 },
};

export function ingestQueue(connection: ConnectionOptions, keyPrefix: string): Queue {
  return new Queue(QUEUE.ingest, { connection, prefix: bullPrefix(keyPrefix), defaultJobOptions: ingestJobOptions });
}

export function closeQueue(connection: ConnectionOptions, keyPrefix: string): Queue {
  return new Queue(QUEUE.close, { connection, prefix: bullPrefix(keyPrefix), defaultJobOptions: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } });
}
