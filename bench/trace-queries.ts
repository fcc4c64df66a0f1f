import { fileURLToPath } from 'node:url';
import type { Sql } from 'postgres';
import { findTraceIds } from '../src/traces/filter/sql-query.js';
import { compileFilter } from '../src/traces/filter/sql.js';
import { parseFilter } from '../src/traces/filter/parse.js';
import { countTraces } from '../src/traces/store/reader.js';
import { qualified, type TraceStore } from '../src/traces/store/store.js';
import { rangeCondition, rangeOrder, type TraceRange } from '../src/traces/store/time-order.js';
import { freePort, spawnNode, waitFor, type Child } from './children.js';
import { customerOf, userOf } from './trace-decorate.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const bin = fileURLToPath(new URL('../bin/trace-insights.js', import.meta.url));

/** One kind of filter; `text(k)` is the expression of the k-th call (values vary where the kind has values). */
export interface FilterKind {
  name: string;
  text: (k: number) => string;
  /** the 1 s p99 goal applies */
  selective: boolean;
}

export const FILTERS: readonly FilterKind[] = [
  { name: 'unfiltered', text: () => '', selective: false },
  { name: 'annotation value', text: (k) => `annotation.customer_id = "${customerOf(k * 101 + 7)}"`, selective: true },
  { name: 'service { fault }', text: () => 'service("PaymentService") { fault }', selective: true },
  { name: 'http.status = 500', text: () => 'http.status = 500', selective: false },
  { name: 'responsetime > N', text: () => 'responsetime > 1', selective: false },
  { name: 'http.url CONTAINS', text: () => 'http.url CONTAINS "express"', selective: false },
  { name: 'user = …', text: (k) => `user = "${userOf(k * 53 + 3)}"`, selective: false },
  { name: 'edge(a, b)', text: () => 'edge("OrderService", "PaymentService")', selective: false },
  { name: 'rootcause.fault.service', text: () => 'rootcause.fault.service { name = "PaymentService" }', selective: false },
  { name: 'fault AND annotation', text: () => 'fault AND annotation.customer_tier = "gold"', selective: false },
];

export interface FilterTiming {
  kind: FilterKind;
  /** ms of each timed call (the warm-up call left out) */
  ms: number[];
  /** summaries on the first page, and TracesProcessedCount, of the last call */
  returned: number;
  processed: number;
  more: boolean;
  /** filled in by the caller when only part of the hour is stored */
  hourEstimate?: { halfP50: number; p50: number; p99: number };
}

export interface QueryServerOptions {
  redisUrl: string;
  databaseUrl: string;
  schema: string;
  prefix: string;
}

export interface TimeOptions {
  start: number;
  end: number;
  /** timed calls per filter (after one warm-up call) */
  calls: number;
  /** a filter stops being called once its calls took this long in all, seconds (at least two timed calls are made) */
  budgetSeconds: number;
}

export interface QueryServer {
  /** POST /TraceSummaries (first page) for each filter, round robin: one warm-up round, then the timed ones. */
  time(filters: readonly FilterKind[], o: TimeOptions): Promise<FilterTiming[]>;
  stop(): Promise<void>;
}

/** `trace-insights server` on the store's schema. */
export async function startQueryServer(opts: QueryServerOptions): Promise<QueryServer> {
  const port = await freePort();
  const env = {
    REDIS_URL: opts.redisUrl,
    KEY_PREFIX: opts.prefix,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    UDP_PORT: '0',
    TRACES_ENABLED: 'true',
    DATABASE_URL: opts.databaseUrl,
    TRACE_SCHEMA: opts.schema,
  };
  const server: Child = spawnNode('server', [], [bin, 'server'], env, { cwd: root });
  try {
    await waitFor('server', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, [server]);
  } catch (err) {
    await server.stop();
    throw err;
  }
  const time = async (filters: readonly FilterKind[], o: TimeOptions): Promise<FilterTiming[]> => {
    const timings: FilterTiming[] = filters.map((kind) => ({ kind, ms: [], returned: 0, processed: 0, more: false }));
    const spent = new Map<FilterKind, number>();
    for (let k = 0; k <= o.calls; k++) {
      for (const t of timings) {
        const used = spent.get(t.kind) ?? 0;
        if (k > 2 && used > o.budgetSeconds * 1000) continue;
        const t0 = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/TraceSummaries`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ StartTime: o.start, EndTime: o.end, FilterExpression: t.kind.text(k) }),
        });
        const body = (await res.json()) as { TraceSummaries?: unknown[]; TracesProcessedCount?: number; NextToken?: string };
        const ms = performance.now() - t0;
        if (!res.ok) throw new Error(`GetTraceSummaries ${t.kind.text(k)}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
        spent.set(t.kind, used + ms);
        if (k === 0) continue; // warm-up: plans cached, pages read once
        t.ms.push(ms);
        t.returned = body.TraceSummaries?.length ?? 0;
        t.processed = body.TracesProcessedCount ?? 0;
        t.more = body.NextToken !== undefined;
      }
    }
    return timings;
  };
  return { time, stop: async () => void (await server.stop()) };
}

/** Nearest-rank percentile. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;
}

/**
 * Where a filter's time goes: findTraceIds (the filter's SQL, then matches() on what SQL cannot decide)
 * and countTraces (TracesProcessedCount over the range) timed alone, and EXPLAIN ANALYZE of the
 * filter's first SQL page and of the count.
 */
export async function explainFilter(store: TraceStore, filter: string, start: number, end: number): Promise<string[]> {
  const sql: Sql = store.sql;
  const range: TraceRange = { start, end, by: 'start', order: 'desc' };
  const out: string[] = [];
  let t0 = performance.now();
  const found = await findTraceIds(store, filter, { ...range, limit: 101 });
  out.push(`findTraceIds alone: ${(performance.now() - t0).toFixed(0)} ms, ${found.ok ? found.traceIds.length : '?'} ids`);
  t0 = performance.now();
  const n = await countTraces(store, range);
  out.push(`countTraces over the whole range alone: ${(performance.now() - t0).toFixed(0)} ms (${n} traces)`);
  const parsed = parseFilter(filter);
  if (!parsed.ok) return out;
  const { where, sure, exact } = compileFilter(parsed.ast, { sql, schema: store.options.schema });
  const traces = sql.unsafe(qualified(store, 'traces'));
  const plan = async (label: string, q: Promise<Record<string, string>[]>) => {
    out.push(`EXPLAIN (ANALYZE, BUFFERS) ${label}:`);
    for (const r of await q) out.push(`  ${Object.values(r)[0]}`);
  };
  await plan(
    `first SQL page (exact=${exact})`,
    sql`explain (analyze, buffers) select t.trace_id, t.start_time, ${exact ? sql`true` : sure} as sure from ${traces} t
      where ${rangeCondition(sql, range)} and ${where} ${rangeOrder(sql, range)} limit ${exact ? 101 : 500}::int` as unknown as Promise<Record<string, string>[]>,
  );
  await plan('countTraces', sql`explain (analyze, buffers) select count(*)::int as n from ${traces} t where ${rangeCondition(sql, range)}` as unknown as Promise<Record<string, string>[]>);
  return out;
}
