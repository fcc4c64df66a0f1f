import type { PendingQuery, Row, Sql } from 'postgres';
import { traceIdEpoch } from '../../xray/ids.js';

/**
 * Which time of a trace a time range selects and a listing is ordered by: `start` is the trace's first
 * start (`traces.start_time`), `traceId` the epoch in its id (`traces.trace_time`, the partition key, so
 * such a range reads only the partitions it names).
 */
export type TraceTimeField = 'start' | 'traceId';

export type SortOrder = 'asc' | 'desc';

/** Where a page ended: the trace's time (epoch seconds, of the listing's field) and id. */
export interface TraceCursor {
  time: number;
  traceId: string;
}

/** A time range over the `traces` table (alias `t`), its order, and where the previous page ended. */
export interface TraceRange {
  /** epoch seconds, inclusive */
  start: number;
  /** epoch seconds, exclusive */
  end: number;
  /** @defaultValue `'start'` */
  by?: TraceTimeField;
  /** @defaultValue `'asc'` */
  order?: SortOrder;
  /** only traces strictly after this one in the listing's order */
  after?: TraceCursor;
}

type Fragment = PendingQuery<Row[]>;

const column = (sql: Sql, by: TraceTimeField | undefined): Fragment => (by === 'traceId' ? sql`t.trace_time` : sql`t.start_time`);

// trace_time is a timestamptz: compared with to_timestamp() so the partition key and its index are used
const value = (sql: Sql, by: TraceTimeField | undefined, seconds: number): Fragment =>
  by === 'traceId' ? sql`to_timestamp(${seconds}::float8)` : sql`${seconds}::float8`;

// (time, trace_id) against a cursor; `op` is one of four literals, never input
function versus(sql: Sql, by: TraceTimeField | undefined, op: '<' | '>' | '<=' | '>=', c: TraceCursor): Fragment {
  return sql`(${column(sql, by)}, t.trace_id) ${sql.unsafe(op)} (${value(sql, by, c.time)}, ${c.traceId}::text)`;
}

/** `t.<time> in [start, end)`, and past the cursor in the listing's order when there is one. */
export function rangeCondition(sql: Sql, r: TraceRange): Fragment {
  const col = column(sql, r.by);
  const within = sql`${col} >= ${value(sql, r.by, r.start)} and ${col} < ${value(sql, r.by, r.end)}`;
  return r.after ? sql`${within} and ${versus(sql, r.by, r.order === 'desc' ? '<' : '>', r.after)}` : within;
}

/** Not past `through` in the listing's order (`through` itself included). */
export function throughCondition(sql: Sql, r: Pick<TraceRange, 'by' | 'order'>, through: TraceCursor): Fragment {
  return versus(sql, r.by, r.order === 'desc' ? '>=' : '<=', through);
}

/** `order by` for the listing: (time, trace_id), both in the listing's direction, a total order. */
export function rangeOrder(sql: Sql, r: Pick<TraceRange, 'by' | 'order'>): Fragment {
  const col = column(sql, r.by);
  return r.order === 'desc' ? sql`order by ${col} desc, t.trace_id desc` : sql`order by ${col}, t.trace_id`;
}

/** The cursor a trace leaves in a listing by `by`. */
export function cursorOf(by: TraceTimeField | undefined, trace: { traceId: string; startTime: number }): TraceCursor {
  return { time: by === 'traceId' ? traceIdEpoch(trace.traceId) : trace.startTime, traceId: trace.traceId };
}
