import { getTraces } from '../store/reader.js';
import { qualified, type TraceStore } from '../store/store.js';
import { matches } from './evaluate.js';
import { parseFilter, type FilterError } from './parse.js';
import { compileFilter } from './sql.js';

export interface FindTraceIdsQuery {
  /** epoch seconds, inclusive, on the trace's first start */
  start: number;
  /** epoch seconds, exclusive */
  end: number;
  /** @defaultValue 1000 */
  limit?: number;
}

export type FindTraceIdsResult = { ok: true; traceIds: string[] } | { ok: false; error: FilterError };

// Candidates read per round trip when some need their documents checked.
const PAGE = 500;

/**
 * Ids of the traces starting in [start, end) that the filter expression matches, ordered by
 * (start_time, trace_id), at most `limit`. What the summary row answers is answered in SQL; candidates
 * it cannot decide are loaded and checked with `matches()`, so the answer is always matches()'s.
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
  let after: { start: number; id: string } | undefined;
  for (;;) {
    const page = exact ? limit - out.length : PAGE;
    const from = after ? sql`and (t.start_time, t.trace_id) > (${after.start}::float8, ${after.id}::text)` : sql``;
    const rows = await sql<{ trace_id: string; start_time: number; sure: boolean }[]>`
      select t.trace_id, t.start_time, ${exact ? sql`true` : sure} as sure from ${traces} t
      where t.start_time >= ${q.start}::float8 and t.start_time < ${q.end}::float8 ${from} and ${where}
      order by t.start_time, t.trace_id
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
    after = { start: last.start_time, id: last.trace_id };
  }
}
