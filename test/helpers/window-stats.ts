import { addTo, bucketOf } from '../../src/aggregate/histogram.js';
import { CLIENT_TYPE, nodeId, parseNodeId } from '../../src/aggregate/graph-ids.js';
import type { Graph, GraphEdge, GraphNode } from '../../src/aggregate/read.js';
import { emptyStats, type Stats } from '../../src/aggregate/stats.js';
import { learnBaseline, type Baseline } from '../../src/detect/baseline.js';
import { judgeNode } from '../../src/detect/detect.js';
import { defaultDetectOptions, type DetectOptions } from '../../src/detect/options.js';
import type { AnomalousNode } from '../../src/detect/root-cause.js';

/**
 * Hand-built window stats and service graphs for the detection unit tests: every number in a test
 * is one a reader can check against the spec without running the aggregation pipeline.
 */

export interface StatsSpec {
  count: number;
  fault?: number;
  /** faults passed up from a downstream call (the rest of `fault` is the node's own) @defaultValue 0 */
  passedFault?: number;
  throttle?: number;
  /** latency distribution as [ms, requests]; must add up to `count` @defaultValue all at 10 ms */
  latencies?: Array<[ms: number, n: number]>;
  /** mean own time per request (ms) @defaultValue the mean latency */
  ownMs?: number;
}

export function stats(o: StatsSpec): Stats {
  const s = emptyStats();
  const fault = o.fault ?? 0;
  const throttle = o.throttle ?? 0;
  const passed = o.passedFault ?? 0;
  const latencies = o.latencies ?? [[10, o.count]];
  const n = latencies.reduce((a, [, c]) => a + c, 0);
  if (n !== o.count) throw new Error(`latencies add up to ${n} requests, not ${o.count}`);
  s.count = o.count;
  s.fault = fault;
  s.throttle = throttle;
  s.error = throttle; // 4xx, throttles included
  s.ok = o.count - fault - throttle;
  s.passedFault = passed;
  s.ownFault = fault - passed;
  let totalMs = 0;
  for (const [ms, c] of latencies) {
    if (c > 0) addTo(s.histogram, bucketOf(ms), c);
    totalMs += ms * c;
  }
  s.latencySeconds = totalMs / 1000;
  s.ownTimeSeconds = o.ownMs === undefined ? s.latencySeconds : (o.ownMs * o.count) / 1000;
  return s;
}

/** A baseline learned from `windows` identical normal windows. */
export function steadyBaseline(normal: StatsSpec, windows = 10): Baseline {
  return learnBaseline(Array.from({ length: windows }, () => stats(normal)));
}

export const id = nodeId;
export const clientOf = (entry: string) => nodeId(CLIENT_TYPE, parseNodeId(entry).name);

export interface NodeSpec {
  id: string;
  /** this window */
  now: StatsSpec;
  /** what a normal window of it looks like (its baseline) */
  normal: StatsSpec;
  inferred?: boolean;
}

export interface Fixture {
  graph: Graph;
  baselines: Map<string, Baseline>;
}

/**
 * A one-window graph. Edges carry the callee's window stats unless given their own; an inferred
 * node's stats are those of its incoming edge (as buildGraph draws it). `entry` gets a client edge.
 */
export function fixture(entry: string, nodes: NodeSpec[], edges: Array<{ from: string; to: string; stats?: StatsSpec }>): Fixture {
  const graph: Graph = { nodes: new Map(), edges: new Map() };
  const baselines = new Map<string, Baseline>();
  for (const n of nodes) {
    const node: GraphNode = { id: n.id, ref: parseNodeId(n.id), stats: stats(n.now), root: n.id === entry, inferred: n.inferred ?? false };
    graph.nodes.set(n.id, node);
    baselines.set(n.id, steadyBaseline(n.normal));
  }
  const client = clientOf(entry);
  const entryNode = nodes.find((n) => n.id === entry)!;
  graph.nodes.set(client, { id: client, ref: parseNodeId(client), stats: stats(entryNode.now), root: false, inferred: false });
  const all = [{ from: client, to: entry }, ...edges];
  for (const e of all) {
    const callee = nodes.find((n) => n.id === e.to)!;
    const edge: GraphEdge = { from: e.from, to: e.to, stats: stats((e as { stats?: StatsSpec }).stats ?? callee.now), aliases: [] };
    graph.edges.set(`${e.from}>${e.to}`, edge);
  }
  return { graph, baselines };
}

/** What the window detector does per node: judge it against its baseline, keep the anomalous ones. */
export function judgeAll(f: Fixture, o: DetectOptions = defaultDetectOptions): AnomalousNode[] {
  const out: AnomalousNode[] = [];
  for (const [nid, node] of f.graph.nodes) {
    if (node.ref.type === CLIENT_TYPE || node.stats.count === 0) continue;
    const baseline = f.baselines.get(nid)!;
    const v = judgeNode(node.stats, baseline, o);
    if (v.anomalies.length) out.push({ id: nid, node, evidence: v.anomalies, baseline });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** P(X ≥ k), X ~ Binomial(n, p), summed term by term in plain floating point (small n only). */
export function naiveUpperTail(k: number, n: number, p: number): number {
  let sum = 0;
  let term = (1 - p) ** n; // P(X = 0)
  for (let i = 0; i <= n; i++) {
    if (i >= k) sum += term;
    term *= ((n - i) / (i + 1)) * (p / (1 - p)); // P(X = i + 1) from P(X = i)
  }
  return sum;
}
