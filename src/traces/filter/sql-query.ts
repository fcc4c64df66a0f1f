import { getTraces } from '../store/reader.js';
import { qualified, type TraceStore } from '../store/store.js';
import { cursorOf, rangeCondition, rangeOrder, type TraceRange } from '../store/time-order.js';
import { matches } from './evaluate.js';
import { parseFilter, type FilterError } from './parse.js';
import { compileFilter } from './sql.js';

/** A time range (on the trace's first start unless `by` says otherwise), its order and cursor, and a limit. */
export interface FindTraceIdsQuery extends TraceRange {
  /** @defaultValue 1000 */
  limit?: number;
}

export type FindTraceIdsResult = { ok: true; traceIds: string[] } | { ok: false; error: FilterError };

// Candidates read per round trip when some need their documents checked.
const PAGE = 500;

/**
 * Ids of the traces in the range that the filter expression matches, in the range's order (by default
 * (start_time, trace_id) ascending), after its cursor, at most `limit`. What the summary row answers is
 * answered in SQL; candidates it cannot decide are loaded and checked with `matches()`, so the answer
 * is always matches()'s.
 * A bad expression is returned as an error, not thrown.
 */
export async function findTraceIds(store: TraceStore, filterText: string, q: FindTraceIdsQuery): Promise<FindTraceIdsResult> {
  const parsed = parseFilter(filterText);
  if (!parsed.ok) return parsed;
  const limit = Math.max(1, Math.min(q.limit ?? 1000, 10_000));
  const sql = store.sql;
  const { where, sure, exact } = compileFilter(parsed.ast, { sql, schema: store.options.schema });
  const traces = sql.unsafe(qualified(store, 'traces'));
  const out: string[] = [];
  let after = q.after;
  for (;;) {
    const page = exact ? limit - out.length : PAGE;
    const rows = await sql<{ trace_id: string; start_time: number; sure: boolean }[]>`
      select t.trace_id, t.start_time, ${exact ? sql`true` : sure} as sure from ${traces} t
      where ${rangeCondition(sql, { ...q, after })} and ${where}
      ${rangeOrder(sql, q)}
      limit ${page}::int`;
    const unsure = rows.filter((r) => !r.sure).map((r) => r.trace_id);
    const confirmed = new Set<string>();
    if (unsure.length > 0) {
      const { traces: loaded } = await getTraces(store, unsure);
      for (const t of loaded) {
        if (matches(parsed.ast, { documents: t.documents.map((d) => JSON.parse(d.text) as object) })) confirmed.add(t.id);
      }
    }
    for (const r of rows) {
      if (r.sure || confirmed.has(r.trace_id)) out.push(r.trace_id);
      if (out.length >= limit) return { ok: true, traceIds: out };
    }
    const last = rows[rows.length - 1];
    if (!last || rows.length < page) return { ok: true, traceIds: out };
    after = cursorOf(q.by, { traceId: last.trace_id, startTime: last.start_time });
  }
}
