import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Deliverer, DeliverResult } from '../src/notify/deliverer.js';
import { readJob } from '../src/queue/catalog.js';
import { QUEUE } from '../src/queue/queues.js';


export interface DeliverProcessorDeps {
  deliverer: Deliverer;
  /** re-adds lost jobs of idle groups (the "sweep" job a scheduler adds) */
  sweep: () => Promise<number>;
  /** where invalid payloads are recorded, with their reason */
  deadLetter: (job: Job, reason: string) => Promise<void>;
}

/**
 * Processor of the "deliver" queue: validate, run one attempt. A failed attempt with retries left moves
 * the job to the delayed set for its scheduled time; the attempt number is the job's starts in this round,
 * so a worker killed mid-attempt costs one attempt of the schedule, not the job.
 */
export function deliverProcessor(deps: DeliverProcessorDeps) {
  // the outcome only (a short string): BullMQ carries the return value into its events stream
  return async (job: Job, token?: string): Promise<DeliverResult['outcome'] | { swept: number }> => {
    const p = readJob(QUEUE.deliver, job);
    if (!p.ok) {
      await deps.deadLetter(job, p.reason);
      throw new UnrecoverableError(`invalid deliver job: ${p.reason}`);
    }
    if (p.name === 'sweep') return { swept: await deps.sweep() };
    // attemptsStarted counts this start: a start whose worker was killed counts as an attempt
    const r = await deps.deliverer.run(p.data, Math.max(1, job.attemptsStarted));
    if (r.outcome === 'retrying') {
      await job.moveToDelayed(r.retryAt, token);
      throw new DelayedError();
    }
    return r.outcome;
  };
}
