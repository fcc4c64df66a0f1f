import type { Hono } from 'hono';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { AggregateReader } from '../aggregate/read.js';
import { buildGraph } from '../aggregate/read.js';
import { parseNodeId, CLIENT_TYPE } from '../aggregate/graph-ids.js';
import { emptyStats, summarize } from '../aggregate/stats.js';
import { windowOf } from '../aggregate/keys.js';

export interface ServicesDeps {
  redis: Redis;
  reader: AggregateReader;
  ready: () => boolean;
  /** Wall clock, epoch seconds (default range ends now). */
  now: () => number;
}

const query = z.object({
  from: z.coerce.number().nonnegative().optional(),
  to: z.coerce.number().nonnegative().optional(),
  type: z.string().optional(),
});

const MAX_WINDOWS = 1440;

/** Our own JSON API: services and their windows with rates and percentiles. */
export function servicesRoutes(app: Hono, deps: ServicesDeps): void {
  app.get('/v1/services', async (c) => {
    if (!deps.ready()) return c.json({ error: { code: 'unavailable', message: 'Redis is unreachable' } }, 503);
    const cat = await deps.redis.hgetall(deps.reader.keys.catalog());
    const W = deps.reader.windowSeconds;
    const services = Object.entries(cat)
      .map(([id, w]) => ({ ...parseNodeId(id), lastWindowStart: Number(w), lastWindowEnd: Number(w) + W }))
      .filter((s) => s.type !== CLIENT_TYPE)
      .sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
    return c.json({ windowSeconds: W, services });
  });

  app.get('/v1/services/:name/windows', async (c) => {
    if (!deps.ready()) return c.json({ error: { code: 'unavailable', message: 'Redis is unreachable' } }, 503);
    const q = query.safeParse(c.req.query());
    if (!q.success) return c.json({ error: { code: 'invalid_request', message: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') } }, 400);
    const W = deps.reader.windowSeconds;
    const to = q.data.to ?? deps.now();
    const from = q.data.from ?? to - 3600;
    if (to <= from) return c.json({ error: { code: 'invalid_request', message: 'to must be after from' } }, 400);
    if ((to - from) / W > MAX_WINDOWS) return c.json({ error: { code: 'invalid_request', message: `at most ${MAX_WINDOWS} windows per request` } }, 400);
    const name = c.req.param('name');
    const { windows, evidence } = await deps.reader.readRange(from, to);
    const out = [];
    let type: string | undefined;
    for (let w = windowOf(from, W); w < to; w += W) {
      const data = windows.find((x) => x.start === w);
      const g = buildGraph(data ? [data] : [], evidence);
      const node = [...g.nodes.values()].find((n) => n.ref.name === name && n.ref.type !== CLIENT_TYPE && (q.data.type === undefined || n.ref.type === q.data.type));
      if (node) type = node.ref.type;
      out.push({ start: w, end: w + W, ...summarize(node?.stats ?? emptyStats()) });
    }
    return c.json({ service: { name, type: type ?? q.data.type ?? null }, windowSeconds: W, windows: out });
  });
}
