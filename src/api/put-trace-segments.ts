import type { Hono } from 'hono';
import { z } from 'zod';
import type { Intake } from '../ingest/intake.js';
import { invalidRequest, unavailable } from './aws-error.js';
import type { Logger } from 'pino';

const bodySchema = z.object({ TraceSegmentDocuments: z.array(z.string()).min(1).max(10_000) });

export interface PutDeps {
  intake: Intake;
  /** Whether the queue's Redis is reachable right now: if not, answer 503 at once. */
  ready: () => boolean;
  log: Logger;
}

/** PutTraceSegments exactly as @aws-sdk/client-xray sends it (reference §4.2, §4.3). */
export function putTraceSegmentsRoute(app: Hono, deps: PutDeps): void {
  app.post('/TraceSegments', async (c) => {
    if (!deps.ready()) return unavailable(c, 'the queue (Redis) is unreachable; retry later');
    let json: unknown;
    try {
      json = await c.req.json();
    } catch {
      return invalidRequest(c, 'request body is not JSON');
    }
    const body = bodySchema.safeParse(json);
    if (!body.success) {
      const i = body.error.issues[0]!;
      return invalidRequest(c, `TraceSegmentDocuments: ${i.path.join('.')} ${i.message}`.trim());
    }
    const r = deps.intake.submit('http', body.data.TraceSegmentDocuments);
    try {
      await r.queued;
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'PutTraceSegments: batch could not be queued');
      return unavailable(c, 'the queue (Redis) is unreachable; retry later');
    }
    return c.json({
      UnprocessedTraceSegments: r.rejections.map((x) => ({
        ...(x.id !== undefined ? { Id: x.id } : {}),
        ErrorCode: x.code,
        Message: x.message,
      })),
    });
  });
}
