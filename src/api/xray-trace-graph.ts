import { z } from 'zod';
import { loadTraceModels } from '../traces/load-models.js';
import type { TraceStore } from '../traces/store/store.js';
import { traceGraph } from '../traces/trace-graph.js';
import { xrayServices } from './xray-graph.js';

/**
 * Trace ids per GetTraceGraph call. Neither the reference nor the API model states a maximum; every
 * trace is loaded whole, so a bound keeps one request's memory in check.
 */
export const MAX_TRACE_GRAPH_IDS = 100;

export const traceGraphSchema = z.object({
  TraceIds: z.array(z.string().min(1).max(35)).min(1).max(MAX_TRACE_GRAPH_IDS),
  // the API model documents it as unused: the whole graph comes in one answer
  NextToken: z.string().optional(),
});

/**
 * GetTraceGraph's `Services`: the service graph of the traces the store holds among `ids` (unknown ids
 * add nothing), in GetServiceGraph's Service shape, over the time the traces' entities cover.
 */
export async function traceGraphServices(store: TraceStore, ids: readonly string[]) {
  const models = await loadTraceModels(store, ids);
  const { graph, start, end } = traceGraph([...models.values()]);
  if (start === undefined || end === undefined) return [];
  return xrayServices(graph, start, end);
}
