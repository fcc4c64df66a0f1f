import type { Redis } from 'ioredis';
import type { KeySpace } from './keys.js';
import { windowOf } from './keys.js';
import { emptyStats, mergeStats, statsFromHash, type Stats } from './stats.js';
import { CLIENT_TYPE, parseEdgeId, parseNodeId, type NodeRef } from './graph-ids.js';
import { pipeline } from '../redis/pipeline.js';
import { matchCallees, parseLinkId } from './link-match.js';

/** What one window holds, read back from Redis. */
export interface WindowData {
  start: number;
  nodes: Map<string, Stats>;
  edges: Map<string, Stats>;
  /** `edgeId>calleeNodeId` → count: stored links plus pending ones matched at read time. */
  links: Map<string, number>;
}

interface RawWindow extends WindowData {
  pendingCallers: Record<string, string>;
  pendingCallees: Record<string, string>;
}

/** Reads window aggregates: two pipelined round trips for any range. */
export class AggregateReader {
  constructor(
    private readonly redis: Redis,
    readonly keys: KeySpace,
    readonly windowSeconds: number,
  ) {}

  /**
   * Windows whose start is in [from, to), epoch seconds, and the link evidence around them (pass it to
   * buildGraph so that calls to traced services resolve to the services).
   */
  async readRange(from: number, to: number, maxWindows = 10000): Promise<{ windows: WindowData[]; evidence: Map<string, number> }> {
    const W = this.windowSeconds;
    const first = windowOf(from, W);
    const starts: number[] = [];
    // one window of margin on each side, so links that straddle the range's edges still resolve
    for (let w = first - W; w < to + W && starts.length < maxWindows + 2; w += W) starts.push(w);
    const p1 = pipeline(this.redis);
    for (const w of starts) {
      p1.smembers(this.keys.nodes(w));
      p1.smembers(this.keys.edges(w));
      p1.hgetall(this.keys.links(w));
      p1.hgetall(this.keys.pendingCallers(w));
      p1.hgetall(this.keys.pendingCallees(w));
    }
    const r1 = (await p1.exec()) ?? [];
    const val = (i: number) => {
      const [err, v] = r1[i]!;
      if (err) throw err;
      return v;
    };
    const raws: RawWindow[] = [];
    const p2 = pipeline(this.redis);
    const fetches: Array<{ raw: RawWindow; kind: 'n' | 'e'; id: string }> = [];
    starts.forEach((w, n) => {
      const nodes = val(5 * n) as string[];
      const edges = val(5 * n + 1) as string[];
      const links = new Map<string, number>(Object.entries(val(5 * n + 2) as Record<string, string>).map(([k, v]) => [k, Number(v)]));
      const raw: RawWindow = {
        start: w,
        nodes: new Map(),
        edges: new Map(),
        links,
        pendingCallers: val(5 * n + 3) as Record<string, string>,
        pendingCallees: val(5 * n + 4) as Record<string, string>,
      };
      raws.push(raw);
      for (const id of nodes) {
        p2.hgetall(this.keys.node(w, id));
        fetches.push({ raw, kind: 'n', id });
      }
      for (const id of edges) {
        p2.hgetall(this.keys.edge(w, id));
        fetches.push({ raw, kind: 'e', id });
      }
    });
    if (fetches.length) {
      const r2 = (await p2.exec()) ?? [];
      r2.forEach(([err, h], i) => {
        if (err) throw err;
        const f = fetches[i]!;
        (f.kind === 'n' ? f.raw.nodes : f.raw.edges).set(f.id, statsFromHash(h as Record<string, string>));
      });
    }
    matchPending(raws);
    // the margin windows' links count as evidence too: a link is stored where its callee's segment started
    return { windows: raws.filter((r) => r.start >= first && r.start < to), evidence: mergeLinks(raws) };
  }

  /** Windows whose start is in [from, to). */
  async readWindows(from: number, to: number, maxWindows?: number): Promise<WindowData[]> {
    return (await this.readRange(from, to, maxWindows)).windows;
  }
}

/** Matches traced calls with the callee segments that named them as parent, across the windows read. */
function matchPending(raws: RawWindow[]): void {
  const callerAt = new Map<string, { raw: RawWindow; edge: string }>();
  for (const raw of raws) for (const [sub, edge] of Object.entries(raw.pendingCallers)) callerAt.set(sub, { raw, edge });
  for (const raw of raws) {
    // not taken: nothing is written, and a later read must match the same evidence again
    const callees = Object.entries(raw.pendingCallees).map(([parent, node]) => ({ parent, node }));
    matchCallees(callees, (c) => callerAt.get(c.parent), (c, _callee, link) => c.raw.links.set(link, (c.raw.links.get(link) ?? 0) + 1));
  }
}

export interface GraphNode {
  id: string;
  ref: NodeRef;
  stats: Stats;
  /** has a client edge: requests enter the graph here */
  root: boolean;
  /** known only from callers' subsegments (remote/aws) */
  inferred: boolean;
}

export interface GraphEdge {
  from: string;
  to: string;
  stats: Stats;
  /** names the caller used for the callee (the subsegment's node) when it resolved to a traced service */
  aliases: NodeRef[];
}

export interface Graph {
  nodes: Map<string, GraphNode>;
  edges: Map<string, GraphEdge>;
}

/**
 * The service graph over some windows, drawn as X-Ray does: a call to a traced downstream becomes an edge
 * to the downstream's own node (the alias it was called by is kept); an untraced call is an edge to an
 * inferred node whose stats are those of its incoming edges; root nodes get a client node.
 */
export function mergeLinks(windows: readonly WindowData[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of windows) for (const [k, n] of w.links) out.set(k, (out.get(k) ?? 0) + n);
  return out;
}

/**
 * @param evidence link counts that decide which callee an aliased edge resolves to; by default those of
 *   the windows drawn. An alias names the same service from one window to the next, so a caller may pass
 *   the evidence of a wider range (a link is stored in the callee's window, the edge in the caller's).
 */
export function buildGraph(windows: readonly WindowData[], evidence: ReadonlyMap<string, number> = mergeLinks(windows)): Graph {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const nodeFor = (id: string, inferred: boolean): GraphNode => {
    let n = nodes.get(id);
    if (!n) {
      n = { id, ref: parseNodeId(id), stats: emptyStats(), root: false, inferred };
      nodes.set(id, n);
    }
    return n;
  };
  for (const w of windows) {
    for (const [id, s] of w.nodes) mergeStats(nodeFor(id, false).stats, s);
  }
  // the callee each aliased edge resolves to: the one most links point at
  const target = new Map<string, { callee: string; n: number }>();
  for (const [link, n] of evidence) {
    const { edge, callee } = parseLinkId(link);
    const cur = target.get(edge);
    if (!cur || n > cur.n || (n === cur.n && callee < cur.callee)) target.set(edge, { callee, n });
  }
  for (const w of windows) {
    for (const [id, s] of w.edges) {
      const { from, to } = parseEdgeId(id);
      const resolved = target.get(id)?.callee;
      const dest = resolved ?? to;
      const key = `${from}>${dest}`;
      let e = edges.get(key);
      if (!e) {
        e = { from, to: dest, stats: emptyStats(), aliases: [] };
        edges.set(key, e);
      }
      mergeStats(e.stats, s);
      if (resolved && !e.aliases.some((a) => `${a.type}|${a.name}` === to)) e.aliases.push(parseNodeId(to));
      const fromRef = parseNodeId(from);
      if (fromRef.type === CLIENT_TYPE) {
        nodeFor(from, false);
        nodeFor(dest, false).root = true;
      } else if (!resolved && !nodes.has(dest)) {
        nodeFor(dest, true);
      }
    }
  }
  // inferred nodes are seen only through their callers
  for (const e of edges.values()) {
    const n = nodes.get(e.to);
    if (n?.inferred) mergeStats(n.stats, e.stats);
  }
  for (const n of nodes.values()) {
    if (n.ref.type === CLIENT_TYPE) {
      for (const e of edges.values()) if (e.from === n.id) mergeStats(n.stats, e.stats);
    }
  }
  return { nodes, edges };
}
