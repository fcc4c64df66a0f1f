import { z } from 'zod';

/**
 * Payload of one trace-write job: accepted documents as the JSON text they were sent as (the store
 * keeps them exactly so). `id` is unique per batch; the file door derives it from its ingest batch so
 * a retried replay batch does not queue its documents twice.
 */
export const traceJobSchema = z.object({
  id: z.string().min(1).max(160),
  docs: z.array(z.string()).min(1).max(10_000),
});
export type TraceJob = z.infer<typeof traceJobSchema>;
