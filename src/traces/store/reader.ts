import { isTraceId, traceIdEpoch } from '../../xray/ids.js';
import { qualified, type TraceStore } from './store.js';
import { cursorOf, rangeCondition, rangeOrder, throughCondition, type TraceCursor, type TraceRange } from './time-order.js';

/** One trace's documents, each exactly the text that was sent (BatchGetTraces' `Segments`). */
export interface StoredTrace {
  /** the trace id as it was asked for */
  id: string;
  /** seconds from the first start to the last end; undefined while no document has an end */
  duration: number | undefined;
  documents: { id: string; text: string }[];
}

export interface GetTracesResult {
  traces: StoredTrace[];
  /** ids asked for that the store does not hold (malformed, unknown or expired) */
  unknown: string[];
}

/** Reads whole traces; each id is looked up in the one partition its epoch names. */
export async function getTraces(store: TraceStore, ids: readonly string[]): Promise<GetTracesResult> {
  const wanted = new Map<string, string>();
  for (const id of ids) if (isTraceId(id)) wanted.set(id.toLowerCase(), id);
  const keys = [...wanted.keys()];
  const times = keys.map((k) => new Date(traceIdEpoch(k) * 1000).toISOString());
  const rows =
    keys.length === 0
      ? []
      : await store.sql<{ trace_id: string; id: string; doc: string; duration: number | null }[]>`
          select d.trace_id, d.id, d.doc, t.duration
          from unnest(${times}::text[], ${keys}::text[]) as u(tt, trace_id)
            join ${store.sql.unsafe(qualified(store, 'documents'))} d
              on d.trace_time = u.tt::timestamptz and d.trace_id = u.trace_id
            left join ${store.sql.unsafe(qualified(store, 'traces'))} t
              on t.trace_time = d.trace_time and t.trace_id = d.trace_id
          order by d.trace_id, d.start_time, d.id`;
  const found = new Map<string, StoredTrace>();
  for (const r of rows) {
    let t = found.get(r.trace_id);
    if (!t) found.set(r.trace_id, (t = { id: wanted.get(r.trace_id)!, duration: r.duration ?? undefined, documents: [] }));
    t.documents.push({ id: r.id, text: r.doc });
  }
  const traces: StoredTrace[] = [];
  const unknown: string[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    const t = isTraceId(id) ? found.get(id.toLowerCase()) : undefined;
    if (!t) unknown.push(id);
    else if (!seen.has(t.id)) {
      seen.add(t.id);
      traces.push(t);
    }
  }
  return { traces, unknown };
}

/** A trace's summary row: what GetTraceSummaries reports before filters. Times are epoch seconds. */
export interface TraceSummaryRow {
  traceId: string;
  startTime: number;
  endTime: number | null;
  duration: number | null;
  responseTime: number | null;
  hasFault: boolean;
  hasError: boolean;
  hasThrottle: boolean;
  isPartial: boolean;
  root: { id: string; name: string | null; type: string | null } | null;
  http: { method: string | null; url: string | null; status: number | null; userAgent: string | null; clientIp: string | null };
  serviceNames: string[];
  services: ServiceRef[];
  users: { user: string; services: ServiceRef[] }[];
  annotations: Record<string, { value: string | number | boolean; services: ServiceRef[] }[]>;
  documentCount: number;
}

/** A service as segments name it (TraceSummary's ServiceId). */
export interface ServiceRef {
  name: string;
  type: string | null;
  account_id: string | null;
}

/** Where a page ended; pass it back as `after` for the next one. */
export type SummaryCursor = TraceCursor;

export interface ListSummariesQuery extends TraceRange {
  /** @defaultValue 100 */
  limit?: number;
}

/**
 * Summaries with their time (`by`: first start, or the trace id's epoch) in [start, end), ordered by
 * (time, trace_id) in `order`, a page at a time.
 */
export async function listTraceSummaries(
  store: TraceStore,
  q: ListSummariesQuery,
): Promise<{ summaries: TraceSummaryRow[]; next: SummaryCursor | undefined }> {
  const limit = Math.max(1, Math.min(q.limit ?? 100, 10_000));
  const sql = store.sql;
  const rows = await sql<Record<string, unknown>[]>`
    select * from ${sql.unsafe(qualified(store, 'traces'))} t
    where ${rangeCondition(sql, q)}
    ${rangeOrder(sql, q)}
    limit ${limit + 1}::int`;
  const page = rows.slice(0, limit).map(toSummary);
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? cursorOf(q.by, last) : undefined;
  return { summaries: page, next };
}

/**
 * How many traces of the range lie after `after` (exclusive) up to `through` (inclusive) in the range's
 * order; without `through`, up to the range's end. What a page of a listing passed over, matched or not.
 */
export async function countTraces(store: TraceStore, q: TraceRange & { through?: TraceCursor }): Promise<number> {
  const sql = store.sql;
  const upTo = q.through ? sql`and ${throughCondition(sql, q, q.through)}` : sql``;
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from ${sql.unsafe(qualified(store, 'traces'))} t where ${rangeCondition(sql, q)} ${upTo}`;
  return row?.n ?? 0;
}

/** Summary rows of the given traces (unknown ids left out), ordered by (start_time, trace_id). */
export async function getTraceSummariesByIds(store: TraceStore, ids: readonly string[]): Promise<TraceSummaryRow[]> {
  const keys = [...new Set(ids.filter(isTraceId).map((id) => id.toLowerCase()))];
  if (keys.length === 0) return [];
  const times = keys.map((k) => new Date(traceIdEpoch(k) * 1000).toISOString());
  const sql = store.sql;
  const rows = await sql<Record<string, unknown>[]>`
    select t.* from unnest(${times}::text[], ${keys}::text[]) as u(tt, trace_id)
      join ${sql.unsafe(qualified(store, 'traces'))} t on t.trace_time = u.tt::timestamptz and t.trace_id = u.trace_id
    order by t.start_time, t.trace_id`;
  return rows.map(toSummary);
}

function toSummary(r: Record<string, unknown>): TraceSummaryRow {
  const s = (k: string) => (r[k] as string | null) ?? null;
  const n = (k: string) => (r[k] as number | null) ?? null;
  return {
    traceId: r.trace_id as string,
    startTime: r.start_time as number,
    endTime: n('end_time'),
    duration: n('duration'),
    responseTime: n('response_time'),
    hasFault: r.has_fault as boolean,
    hasError: r.has_error as boolean,
    hasThrottle: r.has_throttle as boolean,
    isPartial: r.is_partial as boolean,
    root: r.root_id ? { id: r.root_id as string, name: s('root_name'), type: s('root_type') } : null,
    http: { method: s('http_method'), url: s('http_url'), status: n('http_status'), userAgent: s('user_agent'), clientIp: s('client_ip') },
    serviceNames: r.service_names as string[],
    services: r.services as ServiceRef[],
    users: r.users as TraceSummaryRow['users'],
    annotations: r.annotations as TraceSummaryRow['annotations'],
    documentCount: r.document_count as number,
  };
}
