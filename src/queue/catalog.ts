import type { Job, JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import { ingestJobSchema, rawIngestJobSchema } from '../ingest/record.js';
import { deliverJobSchema } from '../notify/delivery-job.js';
import { traceJobSchema } from '../traces/job.js';
import { QUEUE } from './queues.js';

/** A job without a payload of its own (a scheduler's tick). */
const tick = z.object({}).passthrough();

/**
 * Every queue, every job name it carries, and each one's payload schema: the one place that says what
 * a job of ours looks like. Producers add jobs through {@link addJob} (typed from the schema),
 * processors read them through {@link readJob} (checked against it); a payload that does not match goes
 * to the dead letters with the reason. Queue options live beside the queue factories in queues.ts.
 */
export const CATALOG = {
  [QUEUE.ingest]: { batch: ingestJobSchema, raw: rawIngestJobSchema },
  [QUEUE.close]: { tick },
  [QUEUE.deliver]: { deliver: deliverJobSchema, sweep: tick },
  [QUEUE.traces]: { documents: traceJobSchema },
} as const;

export type QueueName = keyof typeof CATALOG;
export type JobName<Q extends QueueName> = keyof (typeof CATALOG)[Q] & string;
export type JobData<Q extends QueueName, N extends JobName<Q>> = z.infer<(typeof CATALOG)[Q][N] & z.ZodType>;

/** Adds a job of the catalog to its queue (the queue must be the one named `q`). */
export function addJob<Q extends QueueName, N extends JobName<Q>>(queue: Queue, q: Q, name: N, data: JobData<Q, N>, opts?: JobsOptions): Promise<Job> {
  if (queue.name !== q) throw new Error(`job ${name} belongs to queue ${q}, not ${queue.name}`);
  return queue.add(name, data, opts);
}

/** Adds many jobs of one name at once. */
export function addJobs<Q extends QueueName, N extends JobName<Q>>(queue: Queue, q: Q, name: N, jobs: Array<{ data: JobData<Q, N>; opts?: JobsOptions }>): Promise<Job[]> {
  if (queue.name !== q) throw new Error(`job ${name} belongs to queue ${q}, not ${queue.name}`);
  return queue.addBulk(jobs.map((j) => ({ name, data: j.data, opts: j.opts })));
}

export type ReadJob<Q extends QueueName> = { [N in JobName<Q>]: { ok: true; name: N; data: JobData<Q, N> } }[JobName<Q>] | { ok: false; reason: string };

/** The reason a zod parse failed, in a line: the first three issues with their paths. */
export function issuesOf(error: z.ZodError): string {
  return error.issues.slice(0, 3).map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ');
}

/** A job as its queue's catalog entry says it must be: its name known, its payload valid. */
export function readJob<Q extends QueueName>(q: Q, job: Pick<Job, 'name' | 'data'>): ReadJob<Q> {
  const schema = (CATALOG[q] as Record<string, z.ZodType>)[job.name];
  if (!schema) return { ok: false, reason: `unknown job name "${job.name}" on queue ${q}` };
  const r = schema.safeParse(job.data);
  if (!r.success) return { ok: false, reason: issuesOf(r.error) };
  return { ok: true, name: job.name, data: r.data } as ReadJob<Q>;
}
