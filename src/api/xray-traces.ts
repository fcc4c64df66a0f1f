import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { findTraceIds } from '../traces/filter/sql-query.js';
import { loadTraceModels } from '../traces/load-models.js';
import { countTraces, getTraces, getTraceSummariesByIds, listTraceSummaries, type TraceSummaryRow } from '../traces/store/reader.js';
import type { TraceStore } from '../traces/store/store.js';
import { isStoreUnavailable } from '../traces/store/unavailable.js';
import { cursorOf, type TraceCursor, type TraceRange, type TraceTimeField } from '../traces/store/time-order.js';
import { invalidRequest, unavailable } from './aws-error.js';
import { epochInput, toEpoch } from './epoch.js';
import { decodeToken, encodeToken, queryFingerprint } from './page-token.js';
import { traceGraphSchema, traceGraphServices } from './xray-trace-graph.js';
import { xrayTraceSummary } from './xray-trace-shapes.js';

export interface TraceApiOptions {
  store: TraceStore;
  /** Why the store cannot answer yet (PostgreSQL not up at start-up); undefined once it can. */
  notReady?: () => string | undefined;
  /** Summaries per GetTraceSummaries page (the operation has no MaxResults). @defaultValue 100 */
  pageSize?: number;
}

const batchSchema = z.object({
  TraceIds: z.array(z.string().min(1).max(35)).min(1).max(5),
  NextToken: z.string().optional(),
});

const summariesSchema = z.object({
  StartTime: epochInput,
  EndTime: epochInput,
  FilterExpression: z.string().max(2000).optional(),
  NextToken: z.string().min(1).max(2000).optional(),
  TimeRangeType: z.enum(['TraceId', 'Event', 'Service']).optional(),
  // accepted and ignored: every stored trace is scanned
  Sampling: z.boolean().optional(),
  SamplingStrategy: z.unknown().optional(),
});

const cursorSchema = z.object({ t: z.number(), i: z.string() });

async function parse<S extends z.ZodType>(c: Context, schema: S): Promise<{ ok: true; data: z.infer<S> } | { ok: false; res: Response }> {
  const body = schema.safeParse(await c.req.json().catch(() => null));
  if (body.success) return { ok: true, data: body.data };
  return { ok: false, res: invalidRequest(c, body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')) };
}

/**
 * Which time a GetTraceSummaries range selects on. TraceId: the epoch in the trace id. Event (the
 * default): the trace's first start. Service: the reference names the value but says nothing definite
 * of what it selects, so it is treated as Event. (The API model's one-line notes, "Event (trace update
 * time), or Service (trace segment end time)", come with no example or further definition; a trace's
 * start is what a time range over requests means to a user, and it is indexed.)
 */
const timeFieldOf = (t: 'TraceId' | 'Event' | 'Service' | undefined): TraceTimeField => (t === 'TraceId' ? 'traceId' : 'start');

/** One page of summary rows of a range in its order, and where the next page starts (if there is one). */
async function summaryPage(
  store: TraceStore,
  filter: string,
  range: TraceRange,
  size: number,
): Promise<{ ok: true; rows: TraceSummaryRow[]; next: TraceCursor | undefined } | { ok: false; message: string }> {
  if (filter === '') {
    const page = await listTraceSummaries(store, { ...range, limit: size });
    return { ok: true, rows: page.summaries, next: page.next };
  }
  const found = await findTraceIds(store, filter, { ...range, limit: size + 1 });
  if (!found.ok) return { ok: false, message: found.error.message };
  const ids = found.traceIds.slice(0, size);
  const byId = new Map((await getTraceSummariesByIds(store, ids)).map((r) => [r.traceId, r]));
  // a trace that expired between the two reads is left out
  const rows = ids.flatMap((id) => byId.get(id) ?? []);
  const last = rows[rows.length - 1];
  return { ok: true, rows, next: found.traceIds.length > size && last ? cursorOf(range.by, last) : undefined };
}

/**
 * BatchGetTraces, GetTraceSummaries and GetTraceGraph over the trace store. Without a store they answer
 * 503, so a client learns the deployment does not keep traces rather than that the operation does not
 * exist. Summaries come newest first (X-Ray's order) by (time, Id), a total order a cursor pages
 * without gaps or repeats.
 */
export function traceRoutes(app: Hono, options: TraceApiOptions | undefined, offReason?: string): void {
  const off = offReason ?? 'no trace store is configured';
  /** Runs a route when the store can answer: 503 with the reason while it cannot, or when PostgreSQL is away. */
  const guarded =
    (route: (c: Context, options: TraceApiOptions) => Promise<Response>) =>
    async (c: Context): Promise<Response> => {
      if (!options) return unavailable(c, `this deployment keeps no traces: ${off}`);
      const why = options.notReady?.();
      if (why) return unavailable(c, `the trace store is not ready: ${why}`);
      try {
        return await route(c, options);
      } catch (err) {
        if (isStoreUnavailable(err)) return unavailable(c, `the trace store is unreachable: ${(err as Error).message}`);
        throw err;
      }
    };
  const pageSize = Math.max(1, Math.min(options?.pageSize ?? 100, 1000));

  app.post('/Traces', guarded(async (c, options) => {
    const body = await parse(c, batchSchema);
    if (!body.ok) return body.res;
    const { traces, unknown } = await getTraces(options.store, body.data.TraceIds);
    return c.json({
      Traces: traces.map((t) => ({
        Id: t.id,
        ...(t.duration !== undefined ? { Duration: toEpoch(t.duration) } : {}),
        LimitExceeded: false,
        Segments: t.documents.map((d) => ({ Id: d.id, Document: d.text })),
      })),
      UnprocessedTraceIds: unknown,
    });
  }));

  app.post('/TraceSummaries', guarded(async (c, options) => {
    const body = await parse(c, summariesSchema);
    if (!body.ok) return body.res;
    const q = body.data;
    if (q.EndTime <= q.StartTime) return invalidRequest(c, 'EndTime must be after StartTime');
    const filter = q.FilterExpression?.trim() ?? '';
    const by = timeFieldOf(q.TimeRangeType);
    const fp = queryFingerprint(['trace-summaries', q.StartTime, q.EndTime, filter, by]);
    const range: TraceRange = { start: q.StartTime, end: q.EndTime, by, order: 'desc' };
    if (q.NextToken !== undefined) {
      const cur = decodeToken(q.NextToken, fp, cursorSchema);
      if (!cur) return invalidRequest(c, 'NextToken is invalid or belongs to a different query');
      range.after = { time: cur.t, traceId: cur.i };
    }
    const page = await summaryPage(options.store, filter, range, pageSize);
    if (!page.ok) return invalidRequest(c, `Invalid filter expression ${page.message}`);
    const [models, processed] = await Promise.all([
      // root causes for this page's traces only: one read of their documents
      loadTraceModels(options.store, page.rows.map((r) => r.traceId)),
      // every trace of the range this page passed over, matched by the filter or not
      countTraces(options.store, { ...range, ...(page.next ? { through: page.next } : {}) }),
    ]);
    const event = q.TimeRangeType !== 'TraceId';
    return c.json({
      TraceSummaries: page.rows.map((r) => xrayTraceSummary(r, { model: models.get(r.traceId), matchedEventTime: event ? r.startTime : undefined })),
      ApproximateTime: toEpoch(Math.min(q.EndTime, Date.now() / 1000)),
      TracesProcessedCount: processed,
      ...(page.next ? { NextToken: encodeToken(fp, { t: page.next.time, i: page.next.traceId }) } : {}),
    });
  }));

  app.post('/TraceGraph', guarded(async (c, options) => {
    const body = await parse(c, traceGraphSchema);
    if (!body.ok) return body.res;
    return c.json({ Services: await traceGraphServices(options.store, body.data.TraceIds) });
  }));
}
