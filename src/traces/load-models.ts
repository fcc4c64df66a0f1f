import { buildTraceModel, type TraceModel } from './filter/trace-model.js';
import { getTraces } from './store/reader.js';
import type { TraceStore } from './store/store.js';

/**
 * The assembled traces of some ids, read with one query, keyed by the id as asked; ids the store does
 * not hold are absent. Stored documents were parsed once on the way in, so they parse again here.
 */
export async function loadTraceModels(store: TraceStore, ids: readonly string[]): Promise<Map<string, TraceModel>> {
  if (ids.length === 0) return new Map();
  const { traces } = await getTraces(store, ids);
  return new Map(traces.map((t) => [t.id, buildTraceModel(t.documents.map((d) => JSON.parse(d.text) as object))]));
}
