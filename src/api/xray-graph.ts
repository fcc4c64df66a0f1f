import type { Hono } from 'hono';
import { z } from 'zod';
import type { AggregateReader, Graph, GraphNode } from '../aggregate/read.js';
import { buildGraph } from '../aggregate/read.js';
import { toXrayHistogram } from '../aggregate/histogram.js';
import type { Stats } from '../aggregate/stats.js';
import { CLIENT_TYPE, nodeId } from '../aggregate/graph-ids.js';
import { epochInput, toEpoch } from './epoch.js';
import { invalidRequest, unavailable } from './aws-error.js';

/** X-Ray's ServiceStatistics / EdgeStatistics shape. */
export function xrayStatistics(s: Stats) {
  return {
    OkCount: s.ok,
    ErrorStatistics: { ThrottleCount: s.throttle, OtherCount: s.error - s.throttle, TotalCount: s.error },
    FaultStatistics: { OtherCount: s.fault, TotalCount: s.fault },
    TotalCount: s.count,
    TotalResponseTime: Math.round(s.latencySeconds * 1e6) / 1e6,
  };
}

function serviceId(n: GraphNode) {
  return { Name: n.ref.name, Names: [n.ref.name], ...(n.ref.type ? { Type: n.ref.type } : {}) };
}

/** GetServiceGraph's `Services` for a graph over [start, end). */
export function xrayServices(g: Graph, start: number, end: number) {
  const ids = [...g.nodes.keys()].sort();
  const ref = new Map(ids.map((id, i) => [id, i]));
  return ids.map((id) => {
    const n = g.nodes.get(id)!;
    const isClient = n.ref.type === CLIENT_TYPE;
    const edges = [...g.edges.values()]
      .filter((e) => e.from === id)
      .sort((a, b) => (a.to < b.to ? -1 : 1))
      .map((e) => ({
        ReferenceId: ref.get(e.to)!,
        StartTime: toEpoch(start),
        EndTime: toEpoch(end),
        SummaryStatistics: xrayStatistics(e.stats),
        ResponseTimeHistogram: toXrayHistogram(e.stats.histogram),
        Aliases: e.aliases.map((a) => ({ Name: a.name, Names: [a.name], Type: a.type })),
      }));
    return {
      ReferenceId: ref.get(id)!,
      ...serviceId(n),
      Root: n.root,
      State: isClient ? 'unknown' : 'active',
      StartTime: toEpoch(start),
      EndTime: toEpoch(end),
      Edges: edges,
      ...(isClient
        ? {}
        : {
            SummaryStatistics: xrayStatistics(n.stats),
            DurationHistogram: toXrayHistogram(n.stats.histogram),
            ResponseTimeHistogram: toXrayHistogram(n.stats.histogram),
          }),
    };
  });
}

const rangeSchema = z.object({
  StartTime: epochInput,
  EndTime: epochInput,
  GroupName: z.string().optional(),
  GroupARN: z.string().optional(),
  NextToken: z.string().optional(),
});

const tsSchema = rangeSchema.extend({
  EntitySelectorExpression: z.string().min(1).max(500).optional(),
  Period: z.number().int().positive().optional(),
  ForecastStatistics: z.boolean().optional(),
});

/** `service("name")`, `id(name: "n", type: "t")`, `service(id(…))` or `edge("a", "b")`. */
export function parseSelector(expr: string): { kind: 'service'; name: string; type?: string } | { kind: 'edge'; from: string; to: string } | null {
  const s = expr.trim();
  const str = '"((?:[^"\\\\]|\\\\.)*)"';
  let m = new RegExp(`^service\\(\\s*${str}\\s*\\)$`).exec(s);
  if (m) return { kind: 'service', name: m[1]! };
  m = new RegExp(`^(?:service\\(\\s*)?id\\(\\s*name\\s*:\\s*${str}\\s*(?:,\\s*type\\s*:\\s*${str}\\s*)?\\)(?:\\s*\\))?$`).exec(s);
  if (m) return { kind: 'service', name: m[1]!, type: m[2] };
  m = new RegExp(`^edge\\(\\s*${str}\\s*,\\s*${str}\\s*\\)$`).exec(s);
  if (m) return { kind: 'edge', from: m[1]!, to: m[2]! };
  return null;
}

export interface GraphDeps {
  reader: AggregateReader;
  ready: () => boolean;
}

const MAX_RANGE_SECONDS = 6 * 3600 + 1;

function badRange(start: number, end: number): string | null {
  if (end <= start) return 'EndTime must be after StartTime';
  if (end - start > MAX_RANGE_SECONDS * 4 * 7) return 'time range is too long (at most 7 days)';
  return null;
}

export function graphRoutes(app: Hono, deps: GraphDeps): void {
  app.post('/ServiceGraph', async (c) => {
    if (!deps.ready()) return unavailable(c, 'Redis is unreachable');
    const body = rangeSchema.safeParse(await c.req.json().catch(() => null));
    if (!body.success) return invalidRequest(c, body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const { StartTime: start, EndTime: end } = body.data;
    const bad = badRange(start, end);
    if (bad) return invalidRequest(c, bad);
    const { windows, evidence } = await deps.reader.readRange(start, end);
    const g = buildGraph(windows, evidence);
    return c.json({ StartTime: toEpoch(start), EndTime: toEpoch(end), Services: xrayServices(g, start, end), ContainsOldGroupVersions: false });
  });

  app.post('/TimeSeriesServiceStatistics', async (c) => {
    if (!deps.ready()) return unavailable(c, 'Redis is unreachable');
    const body = tsSchema.safeParse(await c.req.json().catch(() => null));
    if (!body.success) return invalidRequest(c, body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const { StartTime: start, EndTime: end, EntitySelectorExpression: expr } = body.data;
    const bad = badRange(start, end);
    if (bad) return invalidRequest(c, bad);
    const W = deps.reader.windowSeconds;
    const period = body.data.Period ?? W;
    if (period % W !== 0) return invalidRequest(c, `Period must be a multiple of the window length (${W}s)`);
    const sel = expr ? parseSelector(expr) : null;
    if (expr && !sel) return invalidRequest(c, `unsupported EntitySelectorExpression: ${expr} (use service("name"), id(name: "n", type: "t") or edge("a", "b"))`);
    const { windows, evidence } = await deps.reader.readRange(start, end);
    const points: unknown[] = [];
    for (let p = Math.floor(start / period) * period; p < end; p += period) {
      const g = buildGraph(
        windows.filter((w) => w.start >= p && w.start < p + period),
        evidence,
      );
      let point: Record<string, unknown> = { Timestamp: p };
      if (sel?.kind === 'edge') {
        const e = [...g.edges.values()].find((x) => g.nodes.get(x.from)?.ref.name === sel.from && g.nodes.get(x.to)?.ref.name === sel.to);
        if (e) point = { ...point, EdgeSummaryStatistics: xrayStatistics(e.stats), ResponseTimeHistogram: toXrayHistogram(e.stats.histogram) };
      } else {
        const n = sel
          ? (sel.type !== undefined ? g.nodes.get(nodeId(sel.type, sel.name)) : [...g.nodes.values()].find((x) => x.ref.name === sel.name && x.ref.type !== CLIENT_TYPE))
          : undefined;
        if (n) point = { ...point, ServiceSummaryStatistics: xrayStatistics(n.stats), ResponseTimeHistogram: toXrayHistogram(n.stats.histogram) };
      }
      points.push(point);
    }
    return c.json({ TimeSeriesServiceStatistics: points, ContainsOldGroupVersions: false });
  });
}
