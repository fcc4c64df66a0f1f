import { addTo, bucketOf } from '../aggregate/histogram.js';
import { CLIENT_TYPE, edgeId, nodeId } from '../aggregate/graph-ids.js';
import type { Graph, GraphEdge, GraphNode } from '../aggregate/read.js';
import { emptyStats, mergeStats, type Stats } from '../aggregate/stats.js';
import { durationOf, endOf, inferredType, isCall, outcomeOf, startOf, type Entity } from './filter/entity.js';
import type { TraceModel } from './filter/trace-model.js';

/** The service graph of some traces, and the span of time their entities cover (epoch seconds). */
export interface TraceGraph {
  graph: Graph;
  /** undefined when no entity has a start */
  start: number | undefined;
  end: number | undefined;
}

/**
 * Draws the service graph of whole traces in the aggregate's Graph, so GetTraceGraph and GetServiceGraph
 * answer in one shape. The nodes and calls are the trace model's (trace-model.ts: a segment's service,
 * an inferred node per call no traced segment answered, an edge per parent_id link); node ids and
 * counting follow the aggregate's rules: a node is (type, name), a segment counts once on its node, a
 * call once on its edge (as the caller timed it), a root segment (no parent_id) also on the edge from
 * its client, and an inferred node's statistics are those of the calls into it.
 */
export function traceGraph(models: readonly TraceModel[]): TraceGraph {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const nodeFor = (type: string, name: string): GraphNode => {
    const id = nodeId(type, name);
    let n = nodes.get(id);
    if (!n) nodes.set(id, (n = { id, ref: { type, name }, stats: emptyStats(), root: false, inferred: true }));
    return n;
  };
  const edgeFor = (from: GraphNode, to: GraphNode): GraphEdge => {
    const id = edgeId(from.id, to.id);
    let e = edges.get(id);
    if (!e) edges.set(id, (e = { from: from.id, to: to.id, stats: emptyStats(), aliases: [] }));
    return e;
  };
  let start = Infinity;
  let end = -Infinity;

  for (const model of models) {
    for (const e of model.entities) {
      start = Math.min(start, startOf(e) ?? Infinity);
      end = Math.max(end, endOf(e) ?? -Infinity);
    }
    const byModelNode = new Map(model.nodes.map((n) => [n, nodeFor(n.type ?? '', n.name)]));
    for (const [m, n] of byModelNode) {
      for (const s of m.entities) {
        if (!s.isSegment) continue;
        // a node that sent a segment is a service, whatever calls to it inferred
        n.inferred = false;
        addRequest(n.stats, s);
        if (s.doc.parent_id === undefined) {
          n.root = true;
          const client = nodeFor(CLIENT_TYPE, n.ref.name);
          client.inferred = false;
          addRequest(edgeFor(client, n).stats, s);
        }
      }
    }
    for (const call of model.calls) {
      const from = byModelNode.get(call.from)!;
      const to = byModelNode.get(call.to)!;
      const edge = edgeFor(from, to);
      addRequest(edge.stats, call.entity);
      // the name the caller knew the callee by, when a traced segment answered a named call
      const c = call.entity;
      if (isCall(c) && !call.to.inferred) {
        const alias = { type: inferredType(c), name: c.name };
        if (!edge.aliases.some((a) => a.type === alias.type && a.name === alias.name)) edge.aliases.push(alias);
      }
    }
  }
  // inferred nodes are seen only through their callers, clients only through their calls
  for (const e of edges.values()) {
    const to = nodes.get(e.to)!;
    if (to.inferred) mergeStats(to.stats, e.stats);
    const from = nodes.get(e.from)!;
    if (from.ref.type === CLIENT_TYPE) mergeStats(from.stats, e.stats);
  }
  return { graph: { nodes, edges }, start: start === Infinity ? undefined : start, end: end === -Infinity ? undefined : end };
}

// an unfinished entity has no response time yet: it draws its node but counts nothing
function addRequest(s: Stats, e: Entity): void {
  const seconds = durationOf(e);
  if (seconds === undefined) return;
  const o = outcomeOf(e);
  s.count += 1;
  if (o.fault) s.fault += 1;
  else if (o.error) {
    s.error += 1;
    if (o.throttle) s.throttle += 1;
  } else s.ok += 1;
  s.latencySeconds += seconds;
  addTo(s.histogram, bucketOf(seconds * 1000));
}
