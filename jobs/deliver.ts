import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import type { Deliverer, DeliverResult } from '../src/notify/deliverer.js';

/** A delivery job: the delivery (its webhook id), the round it was queued in, its subscription and event. */
export const deliverJobSchema = z
  .object({
    d: z.string().regex(/^msg_[0-9a-f]{32}$/),
    r: z.number().int().min(0),
    s: z.string().regex(/^wh_[0-9a-f]{24}$/),
    e: z.string().regex(/^[0-9a-f]{32}$/),
    c: z.literal(1).optional(),
  })
  .strict();

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
    if (job.name === 'sweep') return { swept: await deps.sweep() };
    const p = deliverJobSchema.safeParse(job.data);
    if (!p.success) {
      const reason = p.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      await deps.deadLetter(job, reason);
      throw new UnrecoverableError(`invalid deliver payload: ${reason}`);
    }
    // attemptsStarted counts this start: a start whose worker was killed counts as an attempt
    const r = await deps.deliverer.run(p.data, Math.max(1, job.attemptsStarted));
    if (r.outcome === 'retrying') {
      await job.moveToDelayed(r.retryAt, token);
      throw new DelayedError();
    }
    return r.outcome;
  };
}
