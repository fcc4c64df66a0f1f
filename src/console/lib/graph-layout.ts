import dagre from '@dagrejs/dagre';

/** A node or edge to lay out: only identity and size matter here. */
export interface LayoutInput {
  nodes: ReadonlyArray<{ id: string; width: number; height: number }>;
  edges: ReadonlyArray<{ id: string; from: string; to: string }>;
}

export interface Point {
  x: number;
  y: number;
}

export interface Layout {
  width: number;
  height: number;
  /** node centres */
  nodes: Map<string, Point>;
  /** each edge's polyline, from the caller's border to the callee's */
  edges: Map<string, Point[]>;
}

/**
 * Lays a service graph out left to right with dagre (layered: callers left of callees, so clients come
 * first). Self-calls are left out of the layout (a loop draws itself); edges to unknown nodes are skipped.
 * The result depends only on the ids and sizes, so the page lays out again only when those change.
 */
export function layoutGraph(input: LayoutInput, opts: { nodeSep?: number; rankSep?: number; margin?: number } = {}): Layout {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  const margin = opts.margin ?? 20;
  g.setGraph({ rankdir: 'LR', nodesep: opts.nodeSep ?? 30, ranksep: opts.rankSep ?? 110, marginx: margin, marginy: margin });
  g.setDefaultEdgeLabel(() => ({}));
  // sorted input: the same graph always gets the same picture, whatever order the API listed it in
  const nodes = [...input.nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const n of nodes) g.setNode(n.id, { width: n.width, height: n.height });
  const known = new Set(nodes.map((n) => n.id));
  const edges = [...input.edges].filter((e) => e.from !== e.to && known.has(e.from) && known.has(e.to)).sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const e of edges) g.setEdge(e.from, e.to, {}, e.id);
  dagre.layout(g);
  const out: Layout = { width: 0, height: 0, nodes: new Map(), edges: new Map() };
  for (const n of nodes) {
    const p = g.node(n.id);
    out.nodes.set(n.id, { x: p.x, y: p.y });
    out.width = Math.max(out.width, p.x + n.width / 2 + margin);
    out.height = Math.max(out.height, p.y + n.height / 2 + margin);
  }
  for (const e of edges) {
    const pts = (g.edge(e.from, e.to, e.id)?.points ?? []) as Point[];
    out.edges.set(e.id, pts.map((p) => ({ x: p.x, y: p.y })));
  }
  return out;
}

/** A smooth SVG path through a polyline (quadratic joins at the inner points). */
export function edgePath(points: readonly Point[]): string {
  if (points.length === 0) return '';
  const f = (n: number) => Math.round(n * 10) / 10;
  let d = `M${f(points[0]!.x)},${f(points[0]!.y)}`;
  if (points.length === 2) return `${d}L${f(points[1]!.x)},${f(points[1]!.y)}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i]!;
    const next = points[i + 1]!;
    const mx = i === points.length - 2 ? next.x : (p.x + next.x) / 2;
    const my = i === points.length - 2 ? next.y : (p.y + next.y) / 2;
    d += `Q${f(p.x)},${f(p.y)} ${f(mx)},${f(my)}`;
  }
  return d;
}

/** The point halfway along a polyline (by length), where an edge's label goes. */
export function midpoint(points: readonly Point[]): Point {
  if (points.length === 0) return { x: 0, y: 0 };
  let total = 0;
  for (let i = 1; i < points.length; i++) total += Math.hypot(points[i]!.x - points[i - 1]!.x, points[i]!.y - points[i - 1]!.y);
  let left = total / 2;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const l = Math.hypot(b.x - a.x, b.y - a.y);
    if (l >= left && l > 0) return { x: a.x + ((b.x - a.x) * left) / l, y: a.y + ((b.y - a.y) * left) / l };
    left -= l;
  }
  return points[points.length - 1]!;
}
