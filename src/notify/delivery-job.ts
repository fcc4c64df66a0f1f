import { z } from 'zod';

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
