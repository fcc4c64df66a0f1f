import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { findTraceIds } from '../traces/filter/sql-query.js';
import { getTraces, getTraceSummariesByIds, listTraceSummaries, type ServiceRef, type SummaryCursor, type TraceSummaryRow } from '../traces/store/reader.js';
import type { TraceStore } from '../traces/store/store.js';
import { invalidRequest, unavailable } from './aws-error.js';
import { epochInput, toEpoch } from './epoch.js';
import { decodeToken, encodeToken, queryFingerprint } from './page-token.js';

export interface TraceApiOptions {
  store: TraceStore;
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
  // accepted and ignored: every stored trace is scanned
  TimeRangeType: z.string().optional(),
  Sampling: z.boolean().optional(),
  SamplingStrategy: z.unknown().optional(),
});

const cursorSchema = z.object({ s: z.number(), i: z.string() });

async function parse<S extends z.ZodType>(c: Context, schema: S): Promise<{ ok: true; data: z.infer<S> } | { ok: false; res: Response }> {
  const body = schema.safeParse(await c.req.json().catch(() => null));
  if (body.success) return { ok: true, data: body.data };
  return { ok: false, res: invalidRequest(c, body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')) };
}

const serviceId = (s: ServiceRef) => ({ Name: s.name, Names: [s.name], ...(s.type ? { Type: s.type } : {}), ...(s.account_id ? { AccountId: s.account_id } : {}) });

function annotationValue(v: string | number | boolean) {
  if (typeof v === 'number') return { NumberValue: v };
  if (typeof v === 'boolean') return { BooleanValue: v };
  return { StringValue: v };
}

/** A stored summary row in X-Ray's TraceSummary shape; absent facts are left out, not invented. */
export function xrayTraceSummary(r: TraceSummaryRow) {
  const http = {
    ...(r.http.url !== null ? { HttpURL: r.http.url } : {}),
    ...(r.http.status !== null ? { HttpStatus: r.http.status } : {}),
    ...(r.http.method !== null ? { HttpMethod: r.http.method } : {}),
    ...(r.http.userAgent !== null ? { UserAgent: r.http.userAgent } : {}),
    ...(r.http.clientIp !== null ? { ClientIp: r.http.clientIp } : {}),
  };
  return {
    Id: r.traceId,
    StartTime: toEpoch(r.startTime),
    ...(r.duration !== null ? { Duration: toEpoch(r.duration) } : {}),
    ...(r.responseTime !== null ? { ResponseTime: toEpoch(r.responseTime) } : {}),
    HasFault: r.hasFault,
    HasError: r.hasError,
    HasThrottle: r.hasThrottle,
    IsPartial: r.isPartial,
    Http: http,
    Annotations: Object.fromEntries(
      Object.entries(r.annotations).map(([k, vs]) => [k, vs.map((v) => ({ AnnotationValue: annotationValue(v.value), ServiceIds: v.services.map(serviceId) }))]),
    ),
    Users: r.users.map((u) => ({ UserName: u.user, ServiceIds: u.services.map(serviceId) })),
    ServiceIds: r.services.map(serviceId),
    ...(r.root?.name ? { EntryPoint: serviceId({ name: r.root.name, type: r.root.type, account_id: null }) } : {}),
  };
}

const after = (r: TraceSummaryRow, c: SummaryCursor) => r.startTime > c.startTime || (r.startTime === c.startTime && r.traceId > c.traceId);

/**
 * One page of filtered summaries after a cursor. findTraceIds has no cursor of its own, so it is asked
 * from the cursor's start time on and the few traces sharing that start are dropped here; the limit
 * grows until a full page (plus one, to know there is more) survives or the range is exhausted.
 */
async function filteredPage(store: TraceStore, filter: string, start: number, end: number, cursor: SummaryCursor | undefined, size: number) {
  let limit = size + 1 + 16;
  for (;;) {
    const found = await findTraceIds(store, filter, { start: cursor ? Math.max(start, cursor.startTime) : start, end, limit });
    if (!found.ok) return found;
    const rows = (await getTraceSummariesByIds(store, found.traceIds)).filter((r) => !cursor || after(r, cursor));
    if (rows.length > size || found.traceIds.length < limit) return { ok: true as const, rows };
    limit *= 2;
  }
}

/**
 * BatchGetTraces and GetTraceSummaries over the trace store. Without a store both answer 503, so a
 * client learns the deployment does not keep traces rather than that the operation does not exist.
 * Summaries come oldest first by (StartTime, Id), a total order a cursor pages without gaps.
 */
export function traceRoutes(app: Hono, options: TraceApiOptions | undefined): void {
  const noStore = (c: Context) => unavailable(c, 'this deployment keeps no traces (no trace store is configured)');
  const pageSize = Math.max(1, Math.min(options?.pageSize ?? 100, 1000));

  app.post('/Traces', async (c) => {
    if (!options) return noStore(c);
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
  });

  app.post('/TraceSummaries', async (c) => {
    if (!options) return noStore(c);
    const body = await parse(c, summariesSchema);
    if (!body.ok) return body.res;
    const q = body.data;
    if (q.EndTime <= q.StartTime) return invalidRequest(c, 'EndTime must be after StartTime');
    const filter = q.FilterExpression?.trim() ?? '';
    const fp = queryFingerprint(['trace-summaries', q.StartTime, q.EndTime, filter]);
    let cursor: SummaryCursor | undefined;
    if (q.NextToken !== undefined) {
      const cur = decodeToken(q.NextToken, fp, cursorSchema);
      if (!cur) return invalidRequest(c, 'NextToken is invalid or belongs to a different query');
      cursor = { startTime: cur.s, traceId: cur.i };
    }
    let rows: TraceSummaryRow[];
    let more: boolean;
    if (filter === '') {
      const page = await listTraceSummaries(options.store, { start: q.StartTime, end: q.EndTime, limit: pageSize, after: cursor });
      rows = page.summaries;
      more = page.next !== undefined;
    } else {
      const page = await filteredPage(options.store, filter, q.StartTime, q.EndTime, cursor, pageSize);
      if (!page.ok) return invalidRequest(c, `Invalid filter expression ${page.error.message}`);
      more = page.rows.length > pageSize;
      rows = page.rows.slice(0, pageSize);
    }
    const last = rows[rows.length - 1];
    return c.json({
      TraceSummaries: rows.map(xrayTraceSummary),
      ApproximateTime: toEpoch(Math.min(q.EndTime, Date.now() / 1000)),
      TracesProcessedCount: rows.length,
      ...(more && last ? { NextToken: encodeToken(fp, { s: last.startTime, i: last.traceId }) } : {}),
    });
  });
}
