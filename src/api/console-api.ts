import type { Context, Hono } from 'hono';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { AggregateReader, Graph } from '../aggregate/read.js';
import { buildGraph } from '../aggregate/read.js';
import { CLIENT_TYPE, nodeId } from '../aggregate/graph-ids.js';
import { windowOf } from '../aggregate/keys.js';
import { summarize } from '../aggregate/stats.js';
import { defaultDetectOptions } from '../detect/options.js';
import type { Insight } from '../insights/model.js';
import type { InsightStore } from '../insights/store.js';
import { rollingBaseline } from './console-baseline.js';
import { bucketFactor, bucketize, MAX_GRAPH_WINDOWS, nodeWindows } from './console-series.js';

export interface ConsoleApiDeps {
  reader: AggregateReader;
  /** Request-path Redis connection (fails fast). */
  redis: Redis;
  insights?: InsightStore;
  ready: () => boolean;
  /** Wall clock, epoch seconds. */
  now?: () => number;
}

const MAX_RANGE_SECONDS = 7 * 86400;
const IMPACT_MAX_SECONDS = 6 * 3600;

const rangeQuery = z.object({
  from: z.coerce.number().nonnegative().optional(),
  to: z.coerce.number().nonnegative().optional(),
});

const fail = (c: Context, status: 400 | 404 | 503, code: string, message: string) => c.json({ error: { code, message } }, status);

/** The map's shape: every node with its summary, every edge with its own; rates are per minute of the range. */
export function consoleGraph(g: Graph, seconds: number) {
  const perMinute = (n: number) => Math.round((n / Math.max(seconds, 1)) * 60 * 100) / 100;
  const nodes = [...g.nodes.values()]
    .map((n) => ({
      id: n.id,
      name: n.ref.name,
      type: n.ref.type,
      kind: n.ref.type === CLIENT_TYPE ? 'client' : n.inferred ? 'inferred' : 'service',
      root: n.root,
      perMinute: perMinute(n.stats.count),
      stats: summarize(n.stats),
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const edges = [...g.edges.values()]
    .map((e) => ({ id: `${e.from}>${e.to}`, from: e.from, to: e.to, perMinute: perMinute(e.stats.count), stats: summarize(e.stats) }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  return { nodes, edges };
}

/** Active first, then newest start first, then by id. */
export function consoleInsightOrder(a: Insight, b: Insight): number {
  if (a.state !== b.state) return a.state === 'ACTIVE' ? -1 : 1;
  return b.startTime - a.startTime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Services an insight names: impacted, anomalous and every root-cause candidate. */
export function insightMembers(i: Insight): Set<string> {
  const ids = new Set<string>();
  for (const s of [...i.impactedServices, ...i.topAnomalousServices, ...i.rootCauseCandidates.map((c) => c.service)]) ids.add(nodeId(s.type, s.name));
  return ids;
}

/**
 * JSON the console reads where the X-Ray shapes are awkward for a page: the graph with percentiles and
 * rates, a node's windows with their expected bands, insights whole (candidates, evidence) with events.
 */
export function consoleApiRoutes(app: Hono, deps: ConsoleApiDeps): void {
  const now = deps.now ?? (() => Date.now() / 1000);
  const W = deps.reader.windowSeconds;
  const range = (c: Context): { from: number; to: number } | string => {
    const q = rangeQuery.safeParse(c.req.query());
    if (!q.success) return q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    const to = q.data.to ?? now();
    const from = q.data.from ?? to - 900;
    if (to <= from) return 'to must be after from';
    if (to - from > MAX_RANGE_SECONDS) return 'the range is at most 7 days';
    return { from, to };
  };

  app.get('/v1/console/graph', async (c) => {
    if (!deps.ready()) return fail(c, 503, 'unavailable', 'Redis is unreachable');
    const r = range(c);
    if (typeof r === 'string') return fail(c, 400, 'invalid_request', r);
    const { windows, evidence } = await deps.reader.readRange(r.from, r.to, Math.ceil((r.to - r.from) / W) + 1);
    return c.json({ from: r.from, to: r.to, windowSeconds: W, ...consoleGraph(buildGraph(windows, evidence), r.to - r.from) });
  });

  app.get('/v1/console/series', async (c) => {
    if (!deps.ready()) return fail(c, 503, 'unavailable', 'Redis is unreachable');
    const id = c.req.query('node');
    if (!id) return fail(c, 400, 'invalid_request', 'node: a node id (type|name) is required');
    const r = range(c);
    if (typeof r === 'string') return fail(c, 400, 'invalid_request', r);
    const o = defaultDetectOptions;
    const first = windowOf(r.from, W);
    // long ranges are drawn in buckets of several windows, and the bands are judged bucket by bucket
    const factor = bucketFactor(Math.ceil((r.to - first) / W));
    const step = W * factor;
    const firstBucket = Math.floor(first / step) * step;
    const historyFrom = firstBucket - o.historyWindows * step;
    // the window still filling up is left out: its count would read as a drop
    const end = Math.min(r.to, windowOf(now(), W));
    const windows = await nodeWindows(deps.redis, deps.reader, id, historyFrom, Math.max(end, historyFrom));
    if (!windows) return fail(c, 400, 'invalid_request', `a node without stats of its own (an inferred dependency, the clients) is drawn from the whole graph: at most ${MAX_GRAPH_WINDOWS} windows`);
    const buckets = bucketize(windows, W, factor);
    const insights = deps.insights ? (await deps.insights.list(historyFrom, r.to)).filter((i) => insightMembers(i).has(id)) : [];
    const inInsight = (b: number) => insights.some((i) => b + step > i.startTime && (i.endTime === null || b < i.endTime));
    const lead = buckets.findIndex((b) => b.start >= firstBucket);
    return c.json({
      node: id,
      from: r.from,
      to: r.to,
      windowSeconds: W,
      bucketSeconds: step,
      baseline: { historyWindows: o.historyWindows, minHistoryWindows: o.minHistoryWindows, alpha: o.alpha, minRateIncrease: o.minRateIncrease, minLatencyRatio: o.minLatencyRatio },
      windows: rollingBaseline(buckets, lead < 0 ? buckets.length : lead, o, inInsight),
      insights: insights.filter((i) => i.endTime === null || i.endTime > r.from).map((i) => ({ id: i.id, state: i.state, startTime: i.startTime, endTime: i.endTime, lastUpdateTime: i.lastUpdateTime, rootCause: i.rootCauseCandidates[0]?.service ?? null })),
    });
  });

  app.get('/v1/console/insights', async (c) => {
    if (!deps.insights) return fail(c, 404, 'not_found', 'insights are not enabled on this server');
    if (!deps.ready()) return fail(c, 503, 'unavailable', 'Redis is unreachable');
    const r = range(c);
    if (typeof r === 'string') return fail(c, 400, 'invalid_request', r);
    const state = c.req.query('state');
    if (state !== undefined && state !== 'ACTIVE' && state !== 'CLOSED') return fail(c, 400, 'invalid_request', 'state: ACTIVE or CLOSED');
    const all = (await deps.insights.list(r.from, r.to)).filter((i) => !state || i.state === state).sort(consoleInsightOrder);
    return c.json({ from: r.from, to: r.to, windowSeconds: W, insights: all });
  });

  app.get('/v1/console/insights/:id', async (c) => {
    if (!deps.insights) return fail(c, 404, 'not_found', 'insights are not enabled on this server');
    if (!deps.ready()) return fail(c, 503, 'unavailable', 'Redis is unreachable');
    const id = c.req.param('id');
    if (!/^[\w-]{36}$/.test(id)) return fail(c, 400, 'invalid_request', 'id: a 36-character insight id');
    const [insight, events] = await Promise.all([deps.insights.get(id), deps.insights.events(id)]);
    if (!insight) return fail(c, 404, 'not_found', `insight ${id} not found`);
    // the impact graph: the insight's services and the calls among them, over its whole duration
    const from = windowOf(insight.startTime, W);
    const end = insight.endTime ?? Math.max(insight.lastUpdateTime, insight.startTime + W);
    const to = Math.min(Math.ceil(end / W) * W, from + IMPACT_MAX_SECONDS);
    const { windows, evidence } = await deps.reader.readRange(from, to);
    const g = consoleGraph(buildGraph(windows, evidence), to - from);
    const members = insightMembers(insight);
    const graph = { from, to, nodes: g.nodes.filter((n) => members.has(n.id)), edges: g.edges.filter((e) => members.has(e.from) && members.has(e.to)) };
    return c.json({ windowSeconds: W, insight, events, graph });
  });
}
