import { mergeExemplars, type Exemplar } from '../aggregate/exemplars.js';
import { parseNodeId } from '../aggregate/graph-ids.js';
import type { LifecycleState } from './lifecycle.js';
import type { Insight, InsightEvent, TraceFilter } from './model.js';

/** A node's exemplars over some windows (aggregate/exemplars.ts readExemplars, bound to a namespace). */
export type ExemplarReader = (node: string, windows: readonly number[]) => Promise<Exemplar[]>;

/** At most this many windows are read back when an insight's root cause changes. */
const MAX_WINDOWS_BACK = 60;

const RATE_FILTERS: Record<string, string> = { FAULT: 'fault', ERROR: 'error', THROTTLE: 'throttle' };

/**
 * The filter expression that finds an insight's requests on its root cause: the node as
 * `service(id(name, type))`, narrowed to its failing requests when it is only about failures (a
 * latency insight is about all of them, the slowest first among its exemplars).
 */
export function traceFilterOf(insight: Pick<Insight, 'categories' | 'startTime'>, node: string, endTime: number): TraceFilter {
  const { name, type } = parseNodeId(node);
  const id = type ? `id(name: ${JSON.stringify(name)}, type: ${JSON.stringify(type)})` : JSON.stringify(name);
  const rates = insight.categories.includes('LATENCY') ? [] : insight.categories.map((c) => RATE_FILTERS[c]).filter((f): f is string => Boolean(f));
  const body = rates.length ? ` { ${rates.join(' OR ')} }` : '';
  return { filterExpression: `service(${id})${body}`, startTime: insight.startTime, endTime };
}

/**
 * Keeps each insight's exemplar traces current after window `w` was judged: for every insight anomalous
 * in `w`, the root cause's exemplars of `w` are merged into its best 20 (or, when the root cause changed,
 * those of every window of the insight, up to 60 back). Writes them, and the trace filter, into the state
 * and into the insight copies this window's events carry.
 */
export async function attachExemplars(state: LifecycleState, w: number, windowSeconds: number, events: InsightEvent[], read: ExemplarReader): Promise<void> {
  for (const t of state.active) {
    if (t.lastAnomalousWindow !== w) continue;
    const same = t.exemplarSource === t.source;
    const windows: number[] = [];
    if (same) windows.push(w);
    else for (let x = Math.max(t.insight.startTime, w - (MAX_WINDOWS_BACK - 1) * windowSeconds); x <= w; x += windowSeconds) windows.push(x);
    const got = await read(t.source, windows);
    t.exemplars = mergeExemplars([same ? (t.exemplars ?? []) : [], got]);
    t.exemplarSource = t.source;
    const fields = {
      traceFilter: traceFilterOf(t.insight, t.source, w + windowSeconds),
      exemplarTraceIds: t.exemplars.map(([id]) => id),
    };
    Object.assign(t.insight, fields);
    for (const e of events) if (e.insight.id === t.insight.id) Object.assign(e.insight, fields);
  }
}
