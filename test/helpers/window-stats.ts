import { addTo, bucketOf, type Histogram } from '../../src/aggregate/histogram.js';
import { CLIENT_TYPE, nodeId, parseNodeId } from '../../src/aggregate/graph-ids.js';
import type { Graph, GraphEdge, GraphNode } from '../../src/aggregate/read.js';
import { emptyStats, type Stats } from '../../src/aggregate/stats.js';

/**
 * Hand-built window stats, histograms and service graphs for the detection unit tests, and the
 * textbook sums their expected p-values are checked against: every number in a test is one a reader
 * can work out without running the aggregation pipeline or the code under test.
 */

/** A histogram from [ms, requests] pairs, bucketed exactly as the aggregation buckets latencies. */
export function hist(...values: Array<[ms: number, n: number]>): Histogram {
  const h: Histogram = new Map();
  for (const [ms, n] of values) if (n > 0) addTo(h, bucketOf(ms), n);
  return h;
}

export interface StatsSpec {
  count: number;
  fault?: number;
  /** faults passed up from a downstream call (the rest of `fault` is the node's own) @defaultValue 0 */
  passedFault?: number;
  throttle?: number;
  /** latency distribution as [ms, requests]; must add up to `count` @defaultValue all at 10 ms */
  latencies?: Array<[ms: number, n: number]>;
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
  s.histogram = hist(...latencies);
  s.latencySeconds = latencies.reduce((a, [ms, c]) => a + ms * c, 0) / 1000;
  return s;
}

export const id = nodeId;
export const clientOf = (entry: string) => nodeId(CLIENT_TYPE, parseNodeId(entry).name);

export interface NodeSpec {
  id: string;
  stats: StatsSpec;
  inferred?: boolean;
}

/**
 * A one-window graph as buildGraph draws it: `entry` gets a client node and a client edge (both with
 * the entry's stats); other edges carry the callee's stats unless given their own.
 */
export function graphOf(entry: string, nodes: readonly NodeSpec[], edges: ReadonlyArray<{ from: string; to: string; stats?: StatsSpec }>): Graph {
  const graph: Graph = { nodes: new Map(), edges: new Map() };
  for (const n of nodes) {
    const node: GraphNode = { id: n.id, ref: parseNodeId(n.id), stats: stats(n.stats), root: n.id === entry, inferred: n.inferred ?? false };
    graph.nodes.set(n.id, node);
  }
  const client = clientOf(entry);
  const entryNode = nodes.find((n) => n.id === entry)!;
  graph.nodes.set(client, { id: client, ref: parseNodeId(client), stats: stats(entryNode.stats), root: false, inferred: false });
  for (const e of [{ from: client, to: entry }, ...edges]) {
    const callee = nodes.find((n) => n.id === e.to)!;
    const edge: GraphEdge = { from: e.from, to: e.to, stats: stats((e as { stats?: StatsSpec }).stats ?? callee.stats), aliases: [] };
    graph.edges.set(`${e.from}>${e.to}`, edge);
  }
  return graph;
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

/** P(X = 0..upTo), X ~ Poisson(μ), each from the one before: e^−μ, then ·μ/i (μ up to a few hundred). */
function poissonTerms(mu: number, upTo: number): number[] {
  const t = [Math.exp(-mu)];
  for (let i = 1; i <= upTo; i++) t.push((t[i - 1]! * mu) / i);
  return t;
}

/** P(X ≥ k), X ~ Poisson(μ): the terms from k on, until they no longer matter. */
export function naivePoissonUpper(k: number, mu: number): number {
  const t = poissonTerms(mu, Math.ceil(k + mu + 60 * Math.sqrt(mu + 1) + 60));
  return t.slice(k).reduce((a, b) => a + b, 0);
}

/** P(X ≤ k), X ~ Poisson(μ). */
export function naivePoissonLower(k: number, mu: number): number {
  return poissonTerms(mu, k).reduce((a, b) => a + b, 0);
}
