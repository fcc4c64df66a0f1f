import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { AggregateReader, Graph } from '../aggregate/read.js';
import { buildGraph } from '../aggregate/read.js';
import { nodeId } from '../aggregate/graph-ids.js';
import { windowOf } from '../aggregate/keys.js';
import type { Insight, ServiceRef } from '../insights/model.js';
import type { InsightStore } from '../insights/store.js';
import { epochInput, toEpoch } from './epoch.js';
import { invalidRequest, unavailable } from './aws-error.js';
import { decodeToken, encodeToken, queryFingerprint } from './page-token.js';
import { defaultGroupArn, resolveGroup, type GroupIdentity } from './xray-groups.js';
import { rootCauseOf, xrayInsight, xrayInsightEvent, xrayInsightSummary, xrayServiceId, type ShapeContext } from './xray-insight-shapes.js';

export interface InsightApiDeps {
  store: InsightStore;
  reader: AggregateReader;
  ready: () => boolean;
  group: GroupIdentity;
  /** The service's public address (PUBLIC_URL), for each insight's console link. */
  publicUrl?: string | null;
}

const insightIdSchema = z.string().regex(/^[\w-]{36}$/, 'must be a 36-character insight id');

const summariesSchema = z.object({
  StartTime: epochInput,
  EndTime: epochInput,
  // the model allows one state, but the SDK sends whatever it is given (["ACTIVE","CLOSED"] is common)
  States: z.array(z.enum(['ACTIVE', 'CLOSED'])).max(2).optional(),
  GroupARN: z.string().min(1).max(400).optional(),
  GroupName: z.string().min(1).max(32).optional(),
  MaxResults: z.number().int().min(1).max(100).optional(),
  NextToken: z.string().min(1).max(2000).optional(),
});

const insightSchema = z.object({ InsightId: insightIdSchema });

const eventsSchema = z.object({
  InsightId: insightIdSchema,
  MaxResults: z.number().int().min(1).max(50).optional(),
  NextToken: z.string().min(1).max(2000).optional(),
});

const impactSchema = z.object({
  InsightId: insightIdSchema,
  StartTime: epochInput,
  EndTime: epochInput,
  NextToken: z.string().min(1).max(2000).optional(),
});

/** Newest first; within one start time, by id: a total order, so a cursor pages without gaps. */
const summaryCursor = z.object({ s: z.number(), i: z.string() });
const offsetCursor = z.object({ o: z.number().int().nonnegative() });

const IMPACT_GRAPH_MAX_SECONDS = 6 * 3600;

async function parse<S extends z.ZodType>(c: Context, schema: S): Promise<{ ok: true; data: z.infer<S> } | { ok: false; res: Response }> {
  const body = schema.safeParse(await c.req.json().catch(() => null));
  if (body.success) return { ok: true, data: body.data };
  return { ok: false, res: invalidRequest(c, body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')) };
}

const newestFirst = (a: Insight, b: Insight) => b.startTime - a.startTime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The impacted services of an insight and the calls among them, in GetInsightImpactGraph's shape.
 * Services it names that drew no traffic in the range are still listed (without edges): they are part of
 * the insight, whatever the range asked for.
 */
export function impactServices(ins: Insight, g: Graph, accountId: string) {
  const byId = new Map<string, ServiceRef>();
  for (const s of ins.impactedServices) byId.set(nodeId(s.type, s.name), s);
  const root = rootCauseOf(ins);
  if (root) byId.set(nodeId(root.type, root.name), root);
  const ids = [...byId.keys()].sort();
  const ref = new Map(ids.map((id, n) => [id, n]));
  return ids.map((id) => {
    const targets = new Set<number>();
    for (const e of g.edges.values()) if (e.from === id && ref.has(e.to) && e.to !== id) targets.add(ref.get(e.to)!);
    return { ReferenceId: ref.get(id)!, ...xrayServiceId(byId.get(id)!, accountId), Edges: [...targets].sort((a, b) => a - b).map((r) => ({ ReferenceId: r })) };
  });
}

/** GetInsightSummaries, GetInsight, GetInsightEvents and GetInsightImpactGraph over the insight store. */
export function insightRoutes(app: Hono, deps: InsightApiDeps): void {
  const ctx: ShapeContext = { groupArn: defaultGroupArn(deps.group), accountId: deps.group.accountId, publicUrl: deps.publicUrl ?? null };

  app.post('/InsightSummaries', async (c) => {
    if (!deps.ready()) return unavailable(c, 'Redis is unreachable');
    const body = await parse(c, summariesSchema);
    if (!body.ok) return body.res;
    const q = body.data;
    if (q.EndTime <= q.StartTime) return invalidRequest(c, 'EndTime must be after StartTime');
    const group = resolveGroup(deps.group, q);
    if (!group.ok) return invalidRequest(c, group.message);
    const states = q.States?.length ? new Set(q.States) : null;
    const fp = queryFingerprint(['summaries', q.StartTime, q.EndTime, [...(states ?? [])].sort(), group.name]);
    let after: z.infer<typeof summaryCursor> | null = null;
    if (q.NextToken !== undefined) {
      after = decodeToken(q.NextToken, fp, summaryCursor);
      if (!after) return invalidRequest(c, 'NextToken is invalid or belongs to a different query');
    }
    const all = (await deps.store.list(q.StartTime, q.EndTime))
      .filter((i) => i.groupName === group.name && (!states || states.has(i.state)))
      .sort(newestFirst);
    const rest = after ? all.filter((i) => i.startTime < after.s || (i.startTime === after.s && i.id > after.i)) : all;
    const max = q.MaxResults ?? 100;
    const page = rest.slice(0, max);
    const last = page[page.length - 1];
    return c.json({
      InsightSummaries: page.map((i) => xrayInsightSummary(i, ctx)),
      ...(rest.length > max && last ? { NextToken: encodeToken(fp, { s: last.startTime, i: last.id }) } : {}),
    });
  });

  app.post('/Insight', async (c) => {
    if (!deps.ready()) return unavailable(c, 'Redis is unreachable');
    const body = await parse(c, insightSchema);
    if (!body.ok) return body.res;
    const ins = await deps.store.get(body.data.InsightId);
    // GetInsight's modelled errors are InvalidRequestException and ThrottledException only
    if (!ins) return invalidRequest(c, `Insight ${body.data.InsightId} not found`);
    return c.json({ Insight: xrayInsight(ins, ctx) });
  });

  app.post('/InsightEvents', async (c) => {
    if (!deps.ready()) return unavailable(c, 'Redis is unreachable');
    const body = await parse(c, eventsSchema);
    if (!body.ok) return body.res;
    const q = body.data;
    const fp = queryFingerprint(['events', q.InsightId]);
    let offset = 0;
    if (q.NextToken !== undefined) {
      const cur = decodeToken(q.NextToken, fp, offsetCursor);
      if (!cur) return invalidRequest(c, 'NextToken is invalid or belongs to a different insight');
      offset = cur.o;
    }
    const [ins, events] = await Promise.all([deps.store.get(q.InsightId), deps.store.events(q.InsightId)]);
    if (!ins && !events.length) return invalidRequest(c, `Insight ${q.InsightId} not found`);
    // oldest first: events are only ever appended, so an offset stays valid while the insight goes on
    const max = q.MaxResults ?? 50;
    const page = events.slice(offset, offset + max);
    return c.json({
      InsightEvents: page.map((e) => xrayInsightEvent(e, ctx.accountId)),
      ...(offset + max < events.length ? { NextToken: encodeToken(fp, { o: offset + max }) } : {}),
    });
  });

  app.post('/InsightImpactGraph', async (c) => {
    if (!deps.ready()) return unavailable(c, 'Redis is unreachable');
    const body = await parse(c, impactSchema);
    if (!body.ok) return body.res;
    const q = body.data;
    if (q.EndTime <= q.StartTime) return invalidRequest(c, 'EndTime must be after StartTime');
    if (q.EndTime - q.StartTime > IMPACT_GRAPH_MAX_SECONDS) return invalidRequest(c, 'the time range of an impact graph is at most 6 hours');
    const ins = await deps.store.get(q.InsightId);
    if (!ins) return invalidRequest(c, `Insight ${q.InsightId} not found`);
    // the graph covers the whole windows where the requested range and the insight's duration overlap
    const W = deps.reader.windowSeconds;
    const from = windowOf(Math.max(q.StartTime, ins.startTime), W);
    const insightEnd = ins.endTime ?? Infinity;
    const toRaw = Math.min(q.EndTime, insightEnd);
    const to = Math.ceil(toRaw / W) * W;
    // one page always holds the whole graph, so we never hand out a token to come back with
    if (q.NextToken !== undefined) return invalidRequest(c, 'NextToken is invalid (an impact graph has one page)');
    const base = { InsightId: ins.id, StartTime: toEpoch(q.StartTime), EndTime: toEpoch(q.EndTime) };
    if (to <= from) return c.json({ ...base, Services: [] });
    const { windows, evidence } = await deps.reader.readRange(from, to);
    const g = buildGraph(windows, evidence);
    return c.json({ ...base, ServiceGraphStartTime: from, ServiceGraphEndTime: to, Services: impactServices(ins, g, ctx.accountId) });
  });
}
