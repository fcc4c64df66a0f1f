import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { z } from 'zod';
import { checkTarget, parseTargetUrl, type Lookup } from '../notify/address-policy.js';
import type { DeliveryStore } from '../notify/delivery-store.js';
import type { Dispatcher } from '../notify/dispatcher.js';
import { createBodySchema, updateBodySchema, view, type Subscription } from '../notify/subscription.js';
import type { SubscriptionStore } from '../notify/subscription-store.js';

export interface WebhookApiDeps {
  subs: SubscriptionStore;
  deliveries: DeliveryStore;
  dispatcher: Dispatcher;
  /** accepted bearer keys; none: every request is refused */
  apiKeys: readonly string[];
  allowPrivateTargets: boolean;
  secretGraceSeconds: number;
  log: Logger;
  /** DNS (tests) */
  lookup?: Lookup;
}

const fail = (c: Context, status: ContentfulStatusCode, code: string, message: string) => c.json({ error: { code, message } }, status);

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Bearer-key check in constant time per key (and over every key, so timing tells nothing). */
function requireKey(keys: readonly string[]): MiddlewareHandler {
  const wanted = keys.map(digest);
  return async (c, next) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    let ok = false;
    if (m) {
      const got = digest(m[1]!);
      for (const w of wanted) ok = timingSafeEqual(got, w) || ok;
    }
    if (!ok) {
      c.header('www-authenticate', 'Bearer realm="trace-insights"');
      return fail(c, 401, 'unauthorized', wanted.length ? 'a valid API key is required (Authorization: Bearer <key>)' : 'the management API is disabled: no API_KEYS are configured');
    }
    await next();
  };
}

async function body<T extends z.ZodTypeAny>(c: Context, schema: T): Promise<{ ok: true; data: z.infer<T> } | { ok: false; res: Response }> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    return { ok: false, res: fail(c, 400, 'invalid_request', 'body must be JSON') };
  }
  const p = schema.safeParse(raw);
  if (!p.success) return { ok: false, res: fail(c, 400, 'invalid_request', p.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')) };
  return { ok: true, data: p.data };
}

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.coerce.number().int().min(0).optional(),
  status: z.enum(['pending', 'retrying', 'delivered', 'dead']).optional(),
});

const redeliverBody = z.object({ since: z.number().nonnegative().optional() }).strict();

/** The secret is shown here and at rotation only; nothing may cache it. */
const withSecret = (c: Context, s: Subscription, status: ContentfulStatusCode) => {
  c.header('cache-control', 'no-store');
  return c.json({ ...view(s), secret: s.secret }, status);
};

/**
 * The webhook management API under /v1/webhooks, every route behind an API key: subscriptions (create,
 * list, get, update, delete, rotate the secret, send a test event) and their delivery logs (list, get
 * with attempts, redeliver one, redeliver every dead-lettered one).
 */
export function webhookRoutes(app: Hono, deps: WebhookApiDeps): void {
  const auth = requireKey(deps.apiKeys);
  app.use('/v1/webhooks', auth);
  app.use('/v1/webhooks/*', auth);

  const targetProblem = async (c: Context, raw: string): Promise<Response | null> => {
    const u = parseTargetUrl(raw);
    if (!u.ok) return fail(c, 400, 'invalid_request', u.message);
    const t = await checkTarget(u.url, deps.allowPrivateTargets, deps.lookup);
    return t.ok ? null : fail(c, t.code === 'target_refused' ? 422 : 400, t.code, t.message);
  };
  const sub = async (c: Context) => deps.subs.get(c.req.param('id') ?? '');
  const noSub = (c: Context) => fail(c, 404, 'not_found', `no webhook ${c.req.param('id')}`);

  app.post('/v1/webhooks', async (c) => {
    const b = await body(c, createBodySchema);
    if (!b.ok) return b.res;
    const bad = await targetProblem(c, b.data.url);
    if (bad) return bad;
    const s = await deps.subs.create(b.data);
    deps.log.info({ subscriptionId: s.id, format: s.format }, 'webhook created');
    return withSecret(c, s, 201);
  });

  app.get('/v1/webhooks', async (c) => c.json({ webhooks: (await deps.subs.list()).map(view) }));

  app.get('/v1/webhooks/:id', async (c) => {
    const s = await sub(c);
    return s ? c.json(view(s)) : noSub(c);
  });

  app.patch('/v1/webhooks/:id', async (c) => {
    const b = await body(c, updateBodySchema);
    if (!b.ok) return b.res;
    if (b.data.url !== undefined) {
      const bad = await targetProblem(c, b.data.url);
      if (bad) return bad;
    }
    const s = await deps.subs.update(c.req.param('id'), b.data);
    if (!s) return noSub(c);
    deps.log.info({ subscriptionId: s.id, enabled: s.status === 'active' }, 'webhook updated');
    return c.json(view(s));
  });

  app.delete('/v1/webhooks/:id', async (c) => {
    if (!(await deps.subs.remove(c.req.param('id')))) return noSub(c);
    deps.log.info({ subscriptionId: c.req.param('id') }, 'webhook deleted');
    return c.body(null, 204);
  });

  app.post('/v1/webhooks/:id/rotate-secret', async (c) => {
    const s = await deps.subs.rotate(c.req.param('id'), deps.secretGraceSeconds);
    if (!s) return noSub(c);
    deps.log.info({ subscriptionId: s.id, graceSeconds: deps.secretGraceSeconds }, 'webhook secret rotated');
    return withSecret(c, s, 200);
  });

  app.post('/v1/webhooks/:id/test', async (c) => {
    const s = await sub(c);
    if (!s) return noSub(c);
    if (s.status !== 'active') return fail(c, 409, 'subscription_disabled', 'enable the webhook first (PATCH {"enabled": true})');
    const deliveryId = await deps.dispatcher.enqueueTest(s);
    return c.json({ deliveryId, status: 'pending' }, 202);
  });

  app.get('/v1/webhooks/:id/deliveries', async (c) => {
    const s = await sub(c);
    if (!s) return noSub(c);
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) return fail(c, 400, 'invalid_request', q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return c.json(await deps.deliveries.list(s.id, q.data));
  });

  const delivery = async (c: Context) => {
    const d = await deps.deliveries.get(c.req.param('deliveryId') ?? '');
    return d && d.subscriptionId === c.req.param('id') ? d : null;
  };
  const noDelivery = (c: Context) => fail(c, 404, 'not_found', `no delivery ${c.req.param('deliveryId')} for webhook ${c.req.param('id')}`);

  app.get('/v1/webhooks/:id/deliveries/:deliveryId', async (c) => {
    const d = await delivery(c);
    return d ? c.json({ ...d, attemptLog: await deps.deliveries.attempts(d.id) }) : noDelivery(c);
  });

  app.post('/v1/webhooks/:id/deliveries/:deliveryId/redeliver', async (c) => {
    const s = await sub(c);
    if (!s) return noSub(c);
    if (s.status !== 'active') return fail(c, 409, 'subscription_disabled', 'enable the webhook first (PATCH {"enabled": true})');
    const d = await delivery(c);
    if (!d) return noDelivery(c);
    const r = await deps.dispatcher.redeliver(d.id);
    if (r.ok) return c.json({ deliveryId: d.id, status: 'pending' }, 202);
    if (r.reason === 'busy') return fail(c, 409, 'delivery_in_flight', 'the delivery is still pending or retrying');
    if (r.reason === 'expired') return fail(c, 410, 'event_expired', 'the event is past the log retention');
    return noDelivery(c);
  });

  app.post('/v1/webhooks/:id/redeliver', async (c) => {
    const s = await sub(c);
    if (!s) return noSub(c);
    if (s.status !== 'active') return fail(c, 409, 'subscription_disabled', 'enable the webhook first (PATCH {"enabled": true})');
    const text = await c.req.text();
    let since = 0;
    if (text.trim()) {
      const p = redeliverBody.safeParse((() => { try { return JSON.parse(text) as unknown; } catch { return null; } })());
      if (!p.success) return fail(c, 400, 'invalid_request', 'body must be {"since": <epoch seconds>} or empty');
      since = (p.data.since ?? 0) * 1000;
    }
    const queued = await deps.dispatcher.redeliverDead(s.id, since);
    deps.log.info({ subscriptionId: s.id, queued }, 'dead-lettered deliveries queued again');
    return c.json({ queued }, 202);
  });
}
